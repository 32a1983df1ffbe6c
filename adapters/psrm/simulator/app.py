"""The PSRM simulator over HTTP: PSRM's three SOAP services and a JSON admin API.

SOAP services (XML in, XML out; a fault is HTTP 500 with a SOAP fault, as SOAP 1.1 has it):

- `POST /FordringIndberetService`   MFFordringIndberet_I  → MFFordringIndberet_O
- `POST /KvitteringHentService`     MFKvitteringHent_I    → MFKvitteringHent_O
- `POST /UnderretSamlingHentService` MFUnderretSamlingHent_I → MFUnderretSamlingHent_O

Admin (JSON): `GET /admin/state`, `POST /admin/faults`, `POST /admin/clock`,
`POST /admin/scenario`, `POST /admin/hearing/{action_id}`, `POST /admin/reset`.

Injected faults apply to the SOAP services only: latency, a 503 "NyMF is down" service window
(on/off or for the next N requests), and a dropped connection for the next N requests, either
before the request is processed or after (the worst case: PSRM has the delivery, the caller
does not know).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

import httpx
import uvicorn
from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from adapters.base import AdapterError
from adapters.psrm import xml
from adapters.psrm.messages import CoverageKind
from adapters.psrm.simulator.state import ScenarioError, Simulator, SimulatorConfig, SimulatorFault

XML_MEDIA_TYPE = "text/xml; charset=utf-8"


class SimulatedDrop(httpx.RemoteProtocolError):
    """Raised after the response has started, so the server closes the connection mid-answer.

    It is an httpx transport error so that an in-process transport (ASGITransport) surfaces it
    to the caller the way a real dropped connection looks over the network.
    """


class _DroppedConnection(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/xml"), (b"content-length", b"4096")],
            }
        )
        raise SimulatedDrop("the PSRM simulator dropped the connection on purpose")


class _QuietDrops(logging.Filter):
    """Log a simulated drop as one warning line, not as a crash with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], SimulatedDrop):
            record.msg = "PSRM simulator: connection dropped on purpose (injected fault)"
            record.args, record.exc_info, record.exc_text = (), None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _quiet_drops() -> None:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _QuietDrops) for existing in server_log.filters):
        server_log.addFilter(_QuietDrops())


def _xml(body: bytes, status: int = 200) -> Response:
    return Response(content=body, status_code=status, media_type=XML_MEDIA_TYPE)


def _fault(code: str, message: str, status: int = 500, detail: str | None = None) -> Response:
    return _xml(xml.build_fault(code=code, message=message, detail=detail), status)


# ---------------------------------------------------------------------------------------------
# admin request bodies


class FaultsUpdate(BaseModel):
    """Faults to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[int, Field(ge=0, le=600_000)] | None = None
    unavailable: bool | None = None
    unavailable_next: Annotated[int, Field(ge=0)] | None = None
    drop_next: Annotated[int, Field(ge=0)] | None = None
    drop_after_processing: bool | None = None
    duplicate_notifications_next: Annotated[int, Field(ge=0)] | None = None
    missing_notifications_next: Annotated[int, Field(ge=0)] | None = None
    negative_settlements_next: Annotated[int, Field(ge=0)] | None = None


class ClockUpdate(BaseModel):
    """Set the simulator's time, move it on, or release it to the real clock."""

    model_config = ConfigDict(extra="forbid")

    now: dt.datetime | None = None
    advance_seconds: float | None = None
    release: bool = False


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_date: dt.date | None = None


class CoverageEvent(_Event):
    """Udligning: the claim was covered (DÆKNING) or a coverage was reversed (KORREKTION)."""

    kind: Literal["udligning"]
    fordrings_id: str
    amount: Annotated[Decimal, Field(gt=0, decimal_places=2)]
    activity: CoverageKind = CoverageKind.DAEKNING


class SettlementEvent(_Event):
    """Afregning: settle every movement since the last settlement."""

    kind: Literal["afregning"]
    settlement_date: dt.date | None = None
    negative: bool = False


class InterestEvent(_Event):
    """Renter: interest posted on the claim."""

    kind: Literal["renter"]
    fordrings_id: str
    amount: Annotated[Decimal, Field(gt=0, decimal_places=2)]
    rate_percent: Annotated[Decimal, Field(ge=0, decimal_places=4)] | None = None


class WriteOffEvent(_Event):
    """Afskrivning: written off, the whole balance unless an amount is given."""

    kind: Literal["afskrivning"]
    fordrings_id: str
    amount: Annotated[Decimal, Field(gt=0, decimal_places=2)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=20)] = "FORÆLDELSE"


class ReturnEvent(_Event):
    """Tilbagesend or returnering: the claim leaves collection."""

    kind: Literal["tilbagesend", "returnering"]
    fordrings_id: str
    reason: Annotated[str, Field(min_length=1, max_length=20)] = "FEJL"


ScenarioEvent = Annotated[
    CoverageEvent | SettlementEvent | InterestEvent | WriteOffEvent | ReturnEvent,
    Field(discriminator="kind"),
]


class RandomScenario(BaseModel):
    """Random movements on active claims, reproducible by seed."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    count: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    settle: bool = True


class ScenarioRequest(BaseModel):
    """Notifications to produce: explicit events, then (optionally) random ones."""

    model_config = ConfigDict(extra="forbid")

    events: list[ScenarioEvent] = []
    random: RandomScenario | None = None


class HearingDecision(BaseModel):
    """What the claimant decides about a claim in hearing."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "withdraw"]


# ---------------------------------------------------------------------------------------------
# the app


_DELIVERY_ID = re.compile(rb"<(?:[\w.-]+:)?MFLeveranceID>([^<]{1,64})</")


def _delivery_id(body: bytes) -> str:
    """The delivery id a request names (empty when it names none), without parsing it all."""
    found = _DELIVERY_ID.search(body)
    return found.group(1).decode("utf-8", "replace") if found else ""


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    """Build the simulator's ASGI app; its `Simulator` is at `app.state.simulator`."""
    simulator = Simulator(config or SimulatorConfig())
    _quiet_drops()
    app = FastAPI(
        title="PSRM simulator",
        summary="Gældsstyrelsen's PSRM (NyMF) as kravbro sees it, for tests, demos and training",
    )
    app.state.simulator = simulator

    async def soap(request: Request, handler: Callable[[bytes], bytes], service: str) -> Response:
        length = request.headers.get("content-length")
        if (
            length is not None
            and length.isdigit()
            and int(length) > simulator.config.max_body_bytes
        ):
            return _fault("Client", "Request validation messages: the request is too large", 413)
        # A slow PSRM has the whole request before it answers: the body is read first, and
        # the request is shown as held (`/admin/state`) while its answer waits.
        body = await request.body()
        latency = simulator.faults.latency_ms
        if latency:
            with simulator.holding(service, _delivery_id(body)):
                await simulator.config.sleep(latency / 1000)
        fault = simulator.take_fault()
        if fault == "unavailable":
            return _fault("Server", "NyMF is down", status=503)
        if fault == "drop_before":
            return _DroppedConnection()
        try:
            answer = await run_in_threadpool(handler, body)
        except SimulatorFault as exc:
            return _fault(exc.code, exc.message, exc.status)
        except AdapterError as exc:
            messages = "; ".join(problem.message for problem in exc.problems) or exc.message
            return _fault("Client", f"Request validation messages: {messages}"[:1000])
        if fault == "drop_after":
            return _DroppedConnection()
        return _xml(answer)

    @app.post("/FordringIndberetService", tags=["soap"])
    async def fordring_indberet(request: Request) -> Response:
        """MFFordringIndberet: take a delivery of claim actions."""
        return await soap(request, simulator.submit, "FordringIndberet")

    @app.post("/KvitteringHentService", tags=["soap"])
    async def kvittering_hent(request: Request) -> Response:
        """MFKvitteringHent: the receipts of a delivery."""
        return await soap(request, simulator.receipts, "KvitteringHent")

    @app.post("/UnderretSamlingHentService", tags=["soap"])
    async def underret_samling_hent(request: Request) -> Response:
        """MFUnderretSamlingHent: notifications by number range."""
        return await soap(request, simulator.notifications, "UnderretSamlingHent")

    @app.get("/admin/state", tags=["admin"])
    def admin_state(
        detail: bool = False, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000
    ) -> dict[str, Any]:
        """Counts by status, exactly-once evidence per claimant reference, hearings, faults."""
        return simulator.state(detail=detail, limit=limit)

    @app.post("/admin/faults", tags=["admin"])
    def admin_faults(update: FaultsUpdate) -> dict[str, Any]:
        """Change injected faults; returns them all."""
        return simulator.update_faults(update.model_dump(exclude_none=True))

    @app.post("/admin/clock", tags=["admin"])
    def admin_clock(update: ClockUpdate) -> dict[str, Any]:
        """Set, move or release the simulator's clock; rules use its Danish date."""
        with simulator.lock:
            if update.release:
                simulator.clock.release()
            if update.now is not None:
                if update.now.tzinfo is None:
                    raise HTTPException(422, "the time must have a timezone")
                simulator.clock.set(update.now)
            if update.advance_seconds is not None:
                simulator.clock.advance(update.advance_seconds)
            return {"now": simulator.clock.now().isoformat(), "frozen": simulator.clock.frozen}

    @app.post("/admin/scenario", tags=["admin"])
    def admin_scenario(request: ScenarioRequest) -> dict[str, Any]:
        """Produce notifications for given fordrings-IDs, or at random with a seed."""
        try:
            numbers = simulator.scenario([event.model_dump() for event in request.events])
        except ScenarioError as exc:
            raise HTTPException(422, str(exc)) from exc
        if request.random is not None:
            numbers += simulator.random_scenario(
                seed=request.random.seed, count=request.random.count, settle=request.random.settle
            )
        return {"numbers": numbers, "count": len(numbers)}

    @app.post("/admin/hearing/{action_id}", tags=["admin"])
    def admin_hearing(action_id: str, body: Annotated[HearingDecision, Body()]) -> dict[str, Any]:
        """Confirm (→ UDFØRT) or withdraw a claim parked in hearing."""
        try:
            return simulator.decide_hearing(action_id, body.decision)
        except KeyError as exc:
            raise HTTPException(404, "no claim waits in hearing under that action id") from exc

    @app.post("/admin/reset", tags=["admin"])
    def admin_reset() -> dict[str, Any]:
        """Forget every delivery, claim and notification."""
        simulator.reset()
        return {"reset": True}

    return app


def run(*, host: str, port: int, config: SimulatorConfig) -> None:
    """Serve the simulator with uvicorn until interrupted."""
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)
