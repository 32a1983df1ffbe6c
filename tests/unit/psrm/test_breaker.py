"""The circuit breaker: closed → open → half-open → closed, on an injected clock."""

from __future__ import annotations

import threading

import pytest

from adapters.psrm.breaker import BreakerState, CircuitBreaker


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(ticks: Ticks, threshold: int = 3, reset: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, reset_timeout=reset, clock=ticks)


def test_it_opens_after_n_consecutive_failures_only() -> None:
    ticks = Ticks()
    breaker = _breaker(ticks)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # the run is broken: counting starts again
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_it_turns_half_open_after_the_cool_down_and_allows_one_trial() -> None:
    ticks = Ticks()
    breaker = _breaker(ticks, threshold=1, reset=30)
    breaker.record_failure()
    ticks.now += 29.9
    assert breaker.state is BreakerState.OPEN
    ticks.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time


def test_a_successful_trial_closes_it() -> None:
    ticks = Ticks()
    breaker = _breaker(ticks, threshold=1)
    breaker.record_failure()
    ticks.now += 30
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 0


def test_a_failed_trial_opens_it_again_for_a_full_cool_down() -> None:
    ticks = Ticks()
    breaker = _breaker(ticks, threshold=2, reset=10)
    breaker.record_failure()
    breaker.record_failure()
    ticks.now += 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    snapshot = breaker.snapshot()
    assert snapshot.times_opened == 2
    assert snapshot.retry_in_seconds == pytest.approx(10)
    ticks.now += 4
    assert breaker.snapshot().retry_in_seconds == pytest.approx(6)


def test_released_trials_free_the_half_open_slot() -> None:
    ticks = Ticks()
    breaker = _breaker(ticks, threshold=1, reset=0)
    breaker.record_failure()
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_the_snapshot_reports_for_ops() -> None:
    breaker = _breaker(Ticks())
    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.CLOSED
    assert snapshot.retry_in_seconds is None
    assert snapshot.times_opened == 0


def test_it_counts_correctly_from_many_threads() -> None:
    breaker = _breaker(Ticks(), threshold=1000)
    threads = [
        threading.Thread(target=lambda: [breaker.record_failure() for _ in range(100)])
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.snapshot().consecutive_failures == 800
    assert breaker.state is BreakerState.CLOSED


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
