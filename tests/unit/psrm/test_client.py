"""The PSRM client on httpx.MockTransport: requests, timeouts, errors, retries, breaker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from adapters.psrm import xml
from adapters.psrm.breaker import BreakerState, CircuitBreaker
from adapters.psrm.client import (
    PsrmBadResponse,
    PsrmCircuitOpen,
    PsrmClient,
    PsrmClientConfig,
    PsrmDuplicateDelivery,
    PsrmError,
    PsrmRequestRejected,
    PsrmUnavailable,
    PsrmUnknownDelivery,
    RetryPolicy,
    call_with_retry,
)
from adapters.psrm.messages import (
    ActionStatus,
    InterestNotice,
    Receipt,
)
from tests.unit.psrm.builders import NOW, SENDER_SE

Handler = Callable[[httpx.Request], httpx.Response]
CONFIG = PsrmClientConfig(base_url="https://psrm.test", sender_se=SENDER_SE)
ACK = xml.build_submit_response(
    transaction_id="T-1",
    sender_se=SENDER_SE,
    delivery_id="L-1",
    answered_at=NOW,
    actions=[Receipt("L-1", "A-1", "OPRETFORDRING", ActionStatus.MODTAGET, received_at=NOW)],
)


def _client(handler: Handler, **kwargs: object) -> PsrmClient:
    return PsrmClient(
        CONFIG,
        transport=httpx.MockTransport(handler),
        clock=lambda: NOW,
        new_id=lambda: "T-fixed",
        **kwargs,  # type: ignore[arg-type]
    )


def _fault(message: str, status: int = 500, detail: str | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=xml.build_fault(code="Server", message=message, detail=detail)
    )


class Recorder:
    """A handler that answers from a list and keeps the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_submit_posts_the_envelope_as_soap_and_reads_the_ack() -> None:
    recorder = Recorder(httpx.Response(200, content=ACK))
    with _client(recorder) as client:
        ack = client.submit(b"<envelope/>")
    (request,) = recorder.requests
    assert request.url == "https://psrm.test/FordringIndberetService"
    assert request.headers["SOAPAction"] == '"MFFordringIndberet"'
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert request.content == b"<envelope/>"
    assert ack.delivery_id == "L-1"
    assert ack.actions[0].status is ActionStatus.MODTAGET


def test_the_signing_seam_sees_every_envelope_before_it_is_sent() -> None:
    recorder = Recorder(httpx.Response(200, content=ACK))
    with _client(recorder, sign=lambda envelope: b"<signed>" + envelope) as client:
        client.submit(b"<envelope/>")
    assert recorder.requests[0].content == b"<signed><envelope/>"


def test_each_service_has_its_own_read_timeout() -> None:
    receipts = xml.build_receipt_response(
        transaction_id="T", answered_at=NOW, delivery_id="L-1", receipts=[]
    )
    notes = xml.build_notification_response(transaction_id="T", answered_at=NOW, notifications=[])
    recorder = Recorder(
        httpx.Response(200, content=ACK),
        httpx.Response(200, content=receipts),
        httpx.Response(200, content=notes),
    )
    with _client(recorder) as client:
        client.submit(b"<x/>")
        client.fetch_receipts(delivery_id="L-1", max_items=10)
        client.fetch_notifications(from_number=1, to_number=100)
    timeouts = [request.extensions["timeout"] for request in recorder.requests]
    assert [t["read"] for t in timeouts] == [60.0, 900.0, 300.0]
    assert {t["connect"] for t in timeouts} == {5.0}


def test_receipt_and_notification_requests_carry_the_sender_and_range() -> None:
    notice = InterestNotice(
        7, NOW, "1000001", "R", Decimal("1.00"), dt.date(2025, 3, 1), dt.date(2025, 3, 31)
    )
    recorder = Recorder(
        httpx.Response(
            200,
            content=xml.build_notification_response(
                transaction_id="T", answered_at=NOW, notifications=[notice]
            ),
        )
    )
    with _client(recorder) as client:
        assert client.fetch_notifications(from_number=5, to_number=9) == [notice]
    request = xml.parse_notification_request(recorder.requests[0].content)
    assert (request.sender_se, request.from_number, request.to_number) == (SENDER_SE, 5, 9)
    assert request.transaction_id == "T-fixed"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(503, content=b"Service Unavailable"), PsrmUnavailable),
        (_fault("NyMF is down", status=503), PsrmUnavailable),
        (_fault("NyMF is down"), PsrmUnavailable),
        (httpx.Response(502, content=b"<html>Bad gateway</html>"), PsrmUnavailable),
        (httpx.Response(500, content=b""), PsrmUnavailable),
        (_fault("javax.persistence.PersistenceException: duplicate key"), PsrmDuplicateDelivery),
        (_fault("Fejl", detail="PersistenceException"), PsrmDuplicateDelivery),
        (_fault("MFLeveranceID er ukendt"), PsrmUnknownDelivery),
        (_fault("Request validation messages: UnderretNummerFra missing"), PsrmRequestRejected),
        (httpx.Response(400, content=b"bad"), PsrmRequestRejected),
        (httpx.Response(403, content=b"FID is not supported"), PsrmRequestRejected),
        (httpx.Response(200, content=b"<not-soap/>"), PsrmBadResponse),
        (httpx.ConnectError("refused"), PsrmUnavailable),
        (httpx.ReadTimeout("slow"), PsrmUnavailable),
        (httpx.RemoteProtocolError("peer closed connection"), PsrmUnavailable),
    ],
)
def test_answers_are_classified(answer: httpx.Response | Exception, error: type[PsrmError]) -> None:
    with _client(Recorder(answer)) as client, pytest.raises(error) as raised:
        client.submit(b"<x/>")
    assert type(raised.value) is error
    assert raised.value.retryable is isinstance(raised.value, PsrmUnavailable)


def test_fault_texts_never_carry_a_cpr_number() -> None:
    answer = _fault("Request validation messages: PersonCPRNummer 0505784634 is unknown")
    with _client(Recorder(answer)) as client, pytest.raises(PsrmRequestRejected) as raised:
        client.submit(b"<x/>")
    assert "0505784634" not in str(raised.value)
    assert "050578-****" in str(raised.value)


def test_retries_back_off_with_jitter_then_succeed() -> None:
    recorder = Recorder(
        httpx.Response(503), httpx.ConnectError("refused"), httpx.Response(200, content=ACK)
    )
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=5, initial_wait=0.5, max_wait=30, jitter=1.0)
    with _client(recorder) as client:
        ack = call_with_retry(lambda: client.submit(b"<x/>"), policy=policy, sleep=sleeps.append)
    assert ack.delivery_id == "L-1"
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.5
    assert 1.0 <= sleeps[1] <= 2.0


def test_retries_stop_after_the_last_attempt_with_the_last_error() -> None:
    recorder = Recorder(httpx.Response(503))
    sleeps: list[float] = []
    with _client(recorder) as client, pytest.raises(PsrmUnavailable):
        call_with_retry(
            lambda: client.submit(b"<x/>"),
            policy=RetryPolicy(attempts=4, initial_wait=1, max_wait=2, jitter=0),
            sleep=sleeps.append,
        )
    assert len(recorder.requests) == 4
    assert sleeps == [1, 2, 2]  # capped at max_wait


@pytest.mark.parametrize(
    "answer",
    [_fault("PersistenceException"), _fault("validation"), httpx.Response(400)],
)
def test_rejections_and_duplicates_are_never_retried(answer: httpx.Response) -> None:
    recorder = Recorder(answer)
    sleeps: list[float] = []
    with _client(recorder) as client, pytest.raises(PsrmError):
        call_with_retry(lambda: client.submit(b"<x/>"), sleep=sleeps.append)
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_the_breaker_opens_on_unavailability_and_stops_calls() -> None:
    ticks = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60, clock=lambda: ticks[0])
    recorder = Recorder(httpx.Response(503))
    sleeps: list[float] = []
    with _client(recorder, breaker=breaker) as client:
        for _ in range(2):
            with pytest.raises(PsrmUnavailable):
                client.submit(b"<x/>")
        assert breaker.state is BreakerState.OPEN
        with pytest.raises(PsrmCircuitOpen):
            call_with_retry(lambda: client.submit(b"<x/>"), sleep=sleeps.append)
        assert len(recorder.requests) == 2  # the open breaker did not call
        assert sleeps == []  # and an open breaker is not retried in a loop
        recorder.answers = [httpx.Response(200, content=ACK)]
        ticks[0] = 60
        client.submit(b"<x/>")  # the half-open trial succeeds
    assert breaker.state is BreakerState.CLOSED


def test_an_answer_even_a_rejection_counts_as_the_service_being_up() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60, clock=lambda: 0.0)
    recorder = Recorder(httpx.Response(503), _fault("validation"), httpx.Response(503))
    with _client(recorder, breaker=breaker) as client:
        for _ in range(3):
            with pytest.raises(PsrmError):
                client.submit(b"<x/>")
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 1


def test_a_bug_in_the_call_frees_the_half_open_trial() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0, clock=lambda: 0.0)
    breaker.record_failure()
    with _client(Recorder(RuntimeError("bug")), breaker=breaker) as client:
        with pytest.raises(RuntimeError):
            client.submit(b"<x/>")
        assert breaker.allow()
