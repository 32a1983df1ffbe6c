"""Run the PSRM simulator in-process behind a synchronous httpx transport.

`PsrmClient` is synchronous and `httpx.ASGITransport` is not, so this transport drives the
ASGI app on an event loop of its own. Exceptions the app raises after starting its answer
(the simulator's dropped connection) reach the caller as they would over a socket.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI

from adapters.psrm import xml
from adapters.psrm.messages import Action, Notification, Receipt, SubmitAck
from adapters.psrm.simulator import SimulatorConfig, create_app
from adapters.psrm.simulator.state import Simulator
from tests.unit.psrm.builders import SENDER_SE, Clock, fixed_catalogue


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport that calls an ASGI app in-process."""

    def __init__(self, app: FastAPI) -> None:
        self._loop = asyncio.new_event_loop()
        self._transport = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )

        async def send() -> httpx.Response:
            response = await self._transport.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._loop.run_until_complete(send())

    def close(self) -> None:
        self._loop.run_until_complete(self._transport.aclose())
        self._loop.close()


class Psrm:
    """A simulator with a hand-moved clock, and helpers that speak its XML."""

    def __init__(self, **config: Any) -> None:
        self.clock = Clock()
        self.app = create_app(
            SimulatorConfig(catalogue=fixed_catalogue(), clock=self.clock, **config)
        )
        self.simulator: Simulator = self.app.state.simulator
        self.transport = SyncASGITransport(self.app)
        self.http = httpx.Client(transport=self.transport, base_url="http://psrm.sim")
        self._deliveries = 0

    def close(self) -> None:
        self.http.close()

    def submit_raw(self, raw: bytes) -> httpx.Response:
        return self.http.post("/FordringIndberetService", content=raw)

    def build(self, actions: Sequence[Action], delivery_id: str | None = None) -> bytes:
        self._deliveries += 1
        return xml.build_delivery(
            delivery_id=delivery_id or f"L-{self._deliveries}",
            transaction_id=f"T-{self._deliveries}",
            sender_se=SENDER_SE,
            sent_at=self.clock(),
            actions=actions,
        )

    def submit(self, actions: Sequence[Action], delivery_id: str | None = None) -> SubmitAck:
        response = self.submit_raw(self.build(actions, delivery_id))
        assert response.status_code == 200, response.text
        return xml.parse_submit_response(response.content)

    def receipts(self, delivery_id: str, max_items: int = 1000, offset: int = 0) -> list[Receipt]:
        request = xml.build_receipt_request(
            transaction_id="T-r",
            sender_se=SENDER_SE,
            sent_at=self.clock(),
            delivery_id=delivery_id,
            max_items=max_items,
            offset=offset,
        )
        response = self.http.post("/KvitteringHentService", content=request)
        assert response.status_code == 200, response.text
        return xml.parse_receipt_response(response.content)

    def notifications(self, from_number: int, to_number: int) -> list[Notification]:
        request = xml.build_notification_request(
            transaction_id="T-n",
            sender_se=SENDER_SE,
            sent_at=self.clock(),
            from_number=from_number,
            to_number=to_number,
        )
        response = self.http.post("/UnderretSamlingHentService", content=request)
        assert response.status_code == 200, response.text
        return xml.parse_notification_response(response.content)

    def scenario(self, *events: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        response = self.http.post("/admin/scenario", json={"events": list(events)})
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get("/admin/state", params={"detail": True}).json()
        return result

    def at(self, when: dt.datetime) -> None:
        self.clock.current = when
