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


def business_date(instant: dt.datetime) -> dt.date:
    """Return the calendar date in Copenhagen at `instant` (timezone-aware)."""
    return instant.astimezone(COPENHAGEN).date()


class OutOfRange(ValueError):
    """The clock was asked to read an instant outside the range it may read."""


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
        return business_date(self.now())

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

    def change(
        self,
        *,
        reset: bool = False,
        to: dt.datetime | None = None,
        by: dt.timedelta = dt.timedelta(0),
        within: tuple[dt.datetime, dt.datetime],
    ) -> dt.datetime:
        """Reset, set and advance the clock in one step; return what it then reads.

        The clock must then read an instant in `within` (its start included, its end not).

        Raises:
            ValueError: `to` without a timezone.
            OutOfRange: the clock would leave `within`; it is left as it was.
        """
        if to is not None and to.tzinfo is None:
            raise ValueError("the clock is set with a timezone-aware instant")
        with self._lock:
            base = self._fixed if self._fixed is not None else dt.datetime.now(dt.UTC)
            offset = dt.timedelta(0) if reset else self._offset
            if to is not None:
                offset = to - base
            offset += by
            # Compared as offsets: `base + offset` itself may lie beyond what a datetime holds.
            start, end = within
            if not start - base <= offset < end - base:
                raise OutOfRange(f"the clock would leave {start.isoformat()}–{end.isoformat()}")
            self._offset = offset
            return base + offset
