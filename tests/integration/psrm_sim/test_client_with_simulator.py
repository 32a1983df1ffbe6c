"""The PSRM client against the simulator: the paths the transfer worker will take."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.psrm.breaker import BreakerState, CircuitBreaker
from adapters.psrm.client import (
    PsrmClient,
    PsrmClientConfig,
    PsrmDuplicateDelivery,
    PsrmUnavailable,
    PsrmUnknownDelivery,
    RetryPolicy,
    call_with_retry,
)
from adapters.psrm.messages import ActionStatus, BalanceMovement, CreateClaim
from tests.integration.psrm_sim.harness import Psrm
from tests.unit.psrm.builders import SENDER_SE, claim


def _client(psrm: Psrm, breaker: CircuitBreaker | None = None) -> PsrmClient:
    return PsrmClient(
        PsrmClientConfig(base_url="http://psrm.sim", sender_se=SENDER_SE),
        transport=psrm.transport,
        breaker=breaker,
        clock=psrm.clock,
    )


def test_submit_then_fetch_receipts_and_notifications(psrm: Psrm) -> None:
    client = _client(psrm)
    ack = client.submit(psrm.build([CreateClaim("A-1", claim())]))
    (receipt,) = client.fetch_receipts(delivery_id=ack.delivery_id, max_items=100)
    assert receipt.status is ActionStatus.UDFOERT
    assert receipt.fordrings_id is not None
    psrm.scenario({"kind": "udligning", "fordrings_id": receipt.fordrings_id, "amount": "99.99"})
    (movement,) = client.fetch_notifications(from_number=1, to_number=1000)
    assert isinstance(movement, BalanceMovement)
    assert movement.line.amount == Decimal("99.99")


def test_a_service_window_is_retried_through(psrm: Psrm) -> None:
    psrm.http.post("/admin/faults", json={"unavailable_next": 2})
    client = _client(psrm)
    delivery = psrm.build([CreateClaim("A-1", claim())])
    sleeps: list[float] = []
    ack = call_with_retry(lambda: client.submit(delivery), sleep=sleeps.append)
    assert ack.delivery_id == "L-1"
    assert len(sleeps) == 2


def test_a_lost_answer_is_resent_found_duplicate_and_settled_by_receipts(psrm: Psrm) -> None:
    psrm.http.post("/admin/faults", json={"drop_next": 1, "drop_after_processing": True})
    client = _client(psrm)
    delivery = psrm.build([CreateClaim("A-1", claim())])
    with pytest.raises(PsrmUnavailable):
        client.submit(delivery)
    with pytest.raises(PsrmDuplicateDelivery):
        call_with_retry(lambda: client.submit(delivery), sleep=lambda _: None)
    (receipt,) = client.fetch_receipts(delivery_id="L-1", max_items=10)
    assert receipt.status is ActionStatus.UDFOERT
    assert psrm.state()["fordrings_ids_assigned"] == 1


def test_receipts_for_a_delivery_that_never_arrived(psrm: Psrm) -> None:
    with pytest.raises(PsrmUnknownDelivery):
        _client(psrm).fetch_receipts(delivery_id="L-never", max_items=10)


def test_the_breaker_opens_during_a_long_window_and_closes_after(psrm: Psrm) -> None:
    ticks = [0.0]
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=30, clock=lambda: ticks[0])
    client = _client(psrm, breaker)
    psrm.http.post("/admin/faults", json={"unavailable": True})
    delivery = psrm.build([CreateClaim("A-1", claim())])
    with pytest.raises(PsrmUnavailable):
        call_with_retry(
            lambda: client.submit(delivery),
            policy=RetryPolicy(attempts=10),
            sleep=lambda _: None,
        )
    assert breaker.state is BreakerState.OPEN
    psrm.http.post("/admin/faults", json={"unavailable": False})
    ticks[0] = 30
    assert client.submit(delivery).delivery_id == "L-1"
    assert breaker.state is BreakerState.CLOSED
