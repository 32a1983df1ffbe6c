"""The hearing portal on httpx.MockTransport: what it sends, and how it says it failed."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from adapters.psrm.client import PsrmRequestRejected, PsrmUnavailable
from adapters.psrm.portal import HearingPortal

Handler = Callable[[httpx.Request], httpx.Response]


def _portal(handler: Handler) -> HearingPortal:
    return HearingPortal("http://sim.test/psrm-sim/", transport=httpx.MockTransport(handler))


def test_a_decision_goes_to_the_simulators_hearing_endpoint() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"action_id": "A-1", "status": "UDFØRT"})

    assert _portal(handler).decide_hearing(action_id="A-1", confirm=False) is True
    (request,) = seen
    assert str(request.url) == "http://sim.test/psrm-sim/admin/hearing/A-1"
    assert json.loads(request.content) == {"decision": "withdraw"}


def test_against_the_real_psrm_nothing_is_sent() -> None:
    assert HearingPortal(None).decide_hearing(action_id="A-1", confirm=True) is False


def test_a_refusal_is_rejected_with_the_simulators_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "no claim waits in hearing under that id"})

    with pytest.raises(PsrmRequestRejected) as refused:
        _portal(handler).decide_hearing(action_id="A-1", confirm=True)

    assert refused.value.status_code == 404
    assert "no claim waits in hearing under that id" in refused.value.message


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="down"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
    ids=["5xx", "unreachable", "timeout"],
)
def test_no_answer_or_a_5xx_is_unavailable(failure: httpx.Response | Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    with pytest.raises(PsrmUnavailable):
        _portal(handler).decide_hearing(action_id="A-1", confirm=True)
