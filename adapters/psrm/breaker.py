"""A small thread-safe circuit breaker for calls to PSRM.

Closed: calls go through; `failure_threshold` consecutive failures open it. Open: calls are
refused until `reset_timeout` seconds have passed on the injected clock; then it is half-open
and lets one trial call through. The trial's success closes it; its failure opens it again.

Only "PSRM is not there" counts as a failure (transport errors, timeouts, 5xx, service
windows); a rejection is an answer, so it counts as a success.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """The breaker's state for an ops endpoint or metrics."""

    state: BreakerState
    consecutive_failures: int
    times_opened: int
    retry_in_seconds: float | None  # when open: how long until a trial call is allowed


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a cool-down → closed."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout < 0:
            raise ValueError("failure_threshold must be 1 or more and reset_timeout 0 or more")
        self._threshold = failure_threshold
        self._reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._times_opened = 0
        self._trial_running = False

    def _current(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self._reset_timeout
        ):
            self._state = BreakerState.HALF_OPEN
            self._trial_running = False
        return self._state

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker turns half-open once its cool-down has passed)."""
        with self._lock:
            return self._current()

    def allow(self) -> bool:
        """Ask to make a call: True when it may go (in half-open, only one trial at a time)."""
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record_success(self) -> None:
        """The call got an answer: close the breaker and forget earlier failures."""
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._trial_running = False

    def record_failure(self) -> None:
        """The call found PSRM unavailable: count it, and open the breaker at the threshold."""
        with self._lock:
            state = self._current()
            self._failures += 1
            self._trial_running = False
            if state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
                if state is not BreakerState.OPEN:
                    self._times_opened += 1
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()

    def release(self) -> None:
        """The allowed call ended without telling (a bug, say): free the half-open trial."""
        with self._lock:
            self._trial_running = False

    def snapshot(self) -> BreakerSnapshot:
        """Return the state, failure count, times opened and time left until a trial."""
        with self._lock:
            state = self._current()
            retry_in = None
            if state is BreakerState.OPEN:
                retry_in = max(0.0, self._reset_timeout - (self._clock() - self._opened_at))
            return BreakerSnapshot(state, self._failures, self._times_opened, retry_in)
