"""The worker's retry schedule: exponential, capped, jittered (tenacity's full jitter)."""

from __future__ import annotations

from app.services.transfer import TransferConfig, backoff


def test_waits_grow_exponentially_within_their_ceiling() -> None:
    config = TransferConfig(backoff_base_seconds=2, backoff_max_seconds=600)

    for attempt in range(1, 9):
        ceiling = min(600, 2 * 2 ** (attempt - 1))
        waits = [backoff(attempt, config) for _ in range(200)]
        assert all(0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling / 2  # jittered across the range, not a fixed delay


def test_waits_never_exceed_the_cap() -> None:
    config = TransferConfig(backoff_base_seconds=2, backoff_max_seconds=60)

    assert max(backoff(30, config) for _ in range(500)) <= 60
    assert len({round(backoff(3, config), 6) for _ in range(50)}) > 1
