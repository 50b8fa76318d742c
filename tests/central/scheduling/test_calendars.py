"""Shift calendars: working intervals, holidays, night shifts, time zones, working-time sums."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from central.scheduling import Calendar, SchedulingError, Shift
from tests.central.scheduling.support import DAY_SHIFT, HOLIDAY, at


def test_day_shifts_on_weekdays_without_the_holiday() -> None:
    assert DAY_SHIFT.working_intervals(at(0, 0), at(5, 0)) == [
        (at(day, 6), at(day, 14))
        for day in (0, 1, 3, 4)  # Wednesday is a holiday
    ]


def test_a_night_shift_belongs_to_the_day_it_starts() -> None:
    nights = Calendar(tuple(Shift(d, time(22), time(6)) for d in range(5)), frozenset({HOLIDAY}))
    # Monday's night runs into Tuesday; Tuesday's into the holiday; the holiday's is off
    assert nights.working_intervals(at(1, 0), at(3, 12)) == [
        (at(1, 0), at(1, 6)),
        (at(1, 22), at(2, 6)),
    ]


def test_back_to_back_shifts_are_one_stretch_of_work() -> None:
    two = Calendar(tuple(Shift(0, time(h), time(h + 8)) for h in (6, 14)))
    assert two.working_intervals(at(0, 0), at(1, 0)) == [(at(0, 6), at(0, 22))]


@pytest.mark.parametrize(
    ("start", "minutes", "end"),
    [
        (at(0, 6), 480, at(0, 14)),  # a whole shift ends at its end, not at the next start
        (at(0, 13), 120, at(1, 7)),
        (at(1, 13), 120, at(3, 7)),  # over the holiday
        (at(4, 13), 120, at(7, 7)),  # over the weekend
        (at(5, 10), 60, at(7, 7)),  # from a closed time
    ],
)
def test_adding_working_minutes(start: datetime, minutes: int, end: datetime) -> None:
    assert DAY_SHIFT.add_working(start, minutes) == end


@pytest.mark.parametrize(
    ("end", "minutes", "start"),
    [
        (at(3, 7), 120, at(1, 13)),
        (at(3, 6), 60, at(1, 13)),
        (at(0, 14), 480, at(0, 6)),
        (at(7, 6), 480, at(4, 6)),
    ],
)
def test_subtracting_working_minutes(end: datetime, minutes: int, start: datetime) -> None:
    assert DAY_SHIFT.subtract_working(end, minutes) == start


def test_local_shift_times_follow_daylight_saving() -> None:
    berlin = Calendar(tuple(Shift(d, time(6), time(14)) for d in range(7)), tz="Europe/Berlin")
    winter = datetime(2026, 3, 27, tzinfo=UTC)
    summer = datetime(2026, 3, 30, tzinfo=UTC)
    assert berlin.working_intervals(winter, winter + timedelta(days=1)) == [
        (winter.replace(hour=5), winter.replace(hour=13))
    ]
    assert berlin.working_intervals(summer, summer + timedelta(days=1)) == [
        (summer.replace(hour=4), summer.replace(hour=12))
    ]


def test_always_open() -> None:
    always = Calendar.always_open()
    assert always.is_always_open and not DAY_SHIFT.is_always_open
    assert always.add_working(at(5, 23, 30), 90) == at(6, 1)
    assert always.working_intervals(at(0, 0), at(2, 0)) == [(at(0, 0), at(2, 0))]


def test_the_stored_shape_reads_as_a_calendar() -> None:
    rows = [{"weekday": d, "start": "06:00", "end": "14:00"} for d in range(5)]
    assert Calendar.from_rows(rows, ["2026-03-04"]) == DAY_SHIFT
    assert Calendar.from_rows(rows, [date(2026, 3, 4)], "UTC") == DAY_SHIFT


def test_refusals() -> None:
    with pytest.raises(SchedulingError, match="at least one shift"):
        Calendar(())
    with pytest.raises(SchedulingError, match="time zone"):
        DAY_SHIFT.add_working(datetime(2026, 3, 2, 6), 60)
