"""The service clock: set, advanced and reset in one step, never beyond its range."""

from __future__ import annotations

import datetime as dt

import pytest

from app.clock import Clock, OutOfRange

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
RANGE = (dt.datetime(1900, 1, 1, tzinfo=dt.UTC), dt.datetime(2200, 1, 1, tzinfo=dt.UTC))


def test_it_is_set_and_advanced_in_one_step() -> None:
    clock = Clock(fixed=NOW)

    read = clock.change(
        to=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), by=dt.timedelta(days=1), within=RANGE
    )

    assert read == clock.now() == dt.datetime(2030, 1, 2, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("to", "days"),
    [
        (dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC), 0),
        (dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))), 0),
        (None, 100_000_000),
        (dt.datetime(2199, 12, 31, tzinfo=dt.UTC), 1),
    ],
)
def test_an_instant_beyond_its_range_leaves_it_as_it_was(to: dt.datetime | None, days: int) -> None:
    clock = Clock(fixed=NOW)
    clock.advance(dt.timedelta(hours=1))

    with pytest.raises(OutOfRange):
        clock.change(to=to, by=dt.timedelta(days=days), within=RANGE)

    assert clock.now() == NOW + dt.timedelta(hours=1)


def test_a_time_without_a_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Clock(fixed=NOW).change(to=dt.datetime(2026, 1, 1), within=RANGE)
