"""Time, injected: UTC instants for the record, the Copenhagen calendar date for business rules.

An SRB "has passed" or an area is "on-boarded from" a date by the calendar in Denmark, so the
business date is today's date in Europe/Copenhagen. The clock can be shifted (tests, demos,
the simulator) but never by wall-clock sleeping.
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


class Clock:
    """A clock that is the real one unless set or shifted."""

    def __init__(self, fixed: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = dt.timedelta(0)
        self._fixed = fixed

    def now(self) -> dt.datetime:
        """Return the current instant, timezone-aware UTC."""
        with self._lock:
            base = self._fixed if self._fixed is not None else dt.datetime.now(dt.UTC)
            return base + self._offset

    def today(self) -> dt.date:
        """Return today's date in Copenhagen."""
        return self.now().astimezone(COPENHAGEN).date()

    def set(self, instant: dt.datetime) -> None:
        """Make the clock read `instant` now (and run on from there in real time)."""
        if instant.tzinfo is None:
            raise ValueError("the clock is set with a timezone-aware instant")
        with self._lock:
            base = self._fixed if self._fixed is not None else dt.datetime.now(dt.UTC)
            self._offset = instant.astimezone(dt.UTC) - base

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock forward (or back) by `delta`."""
        with self._lock:
            self._offset += delta

    def reset(self) -> None:
        """Return to the real time."""
        with self._lock:
            self._offset = dt.timedelta(0)
