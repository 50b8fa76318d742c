"""Shift calendars: when a work center works, and working-time arithmetic over them.

A shift belongs to the day it starts on: a holiday cancels the shifts that start on it,
and a night shift starting the evening before a holiday still runs. Work pauses over
breaks between shifts and resumes in the next one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from central.scheduling.errors import SchedulingError

_CHUNK_DAYS = 28
_MAX_DAYS = 3660  # a calendar that gives no working time within ten years is a mistake


@dataclass(frozen=True)
class Shift:
    """One weekly shift in the calendar's local time."""

    weekday: int  # 0 is Monday
    start: time
    end: time  # at or before start: the shift ends the next day


@dataclass(frozen=True)
class Calendar:
    """Weekly shifts and holidays in one time zone."""

    shifts: tuple[Shift, ...]
    holidays: frozenset[date] = frozenset()
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if not self.shifts:
            raise SchedulingError("a calendar needs at least one shift")
        if any(not 0 <= s.weekday <= 6 for s in self.shifts):
            raise SchedulingError("a shift's weekday is 0 (Monday) to 6 (Sunday)")
        ZoneInfo(self.tz)  # an unknown zone fails here, not halfway through scheduling

    @classmethod
    def always_open(cls) -> Calendar:
        """Every minute is a working minute (job-shop instances, 24/7 lines)."""
        return _ALWAYS_OPEN

    @classmethod
    def from_rows(
        cls, shifts: Iterable[Mapping[str, Any]], holidays: Iterable[str | date], tz: str = "UTC"
    ) -> Calendar:
        """From the stored shape: ``{"weekday": 0, "start": "06:00", "end": "14:00"}`` rows."""
        clock = time.fromisoformat
        return cls(
            tuple(Shift(int(s["weekday"]), clock(s["start"]), clock(s["end"])) for s in shifts),
            frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in holidays),
            tz,
        )

    @property
    def is_always_open(self) -> bool:
        midnight = time(0)
        days = {s.weekday for s in self.shifts if s.start == s.end == midnight}
        return len(days) == 7 and not self.holidays

    def working_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working time between two instants, as (start, end) pairs in UTC."""
        line = Timeline(self, minute_of(start))
        a, b = minute_of(start), minute_of(end)
        return [(instant_of(s), instant_of(e)) for s, e in line.intervals(a, b)]

    def add_working(self, instant: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` working minutes after ``instant``."""
        if minutes <= 0:
            return instant
        line = Timeline(self, minute_of(instant))
        return instant_of(line.end_at(line.worked(minute_of(instant)) + minutes))

    def subtract_working(self, instant: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` working minutes before ``instant``."""
        if minutes <= 0:
            return instant
        at = minute_of(instant)
        days = 7 + minutes // 60
        while True:
            line = Timeline(self, at - days * 1440)
            done = line.worked(at)
            if done >= minutes:
                return instant_of(line.start_at(done - minutes))
            if days > _MAX_DAYS:
                raise SchedulingError(f"no {minutes} working minutes before {instant}")
            days *= 2


_ALWAYS_OPEN = Calendar(tuple(Shift(day, time(0), time(0)) for day in range(7)))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def minute_of(instant: datetime) -> int:
    """An aware instant as whole minutes since the epoch (seconds dropped)."""
    if instant.tzinfo is None:
        raise SchedulingError(f"{instant} has no time zone")
    return int(instant.timestamp()) // 60


def instant_of(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


class Timeline:
    """A calendar's working intervals from an origin on, in epoch minutes, with running totals.

    ``worked(t)`` counts the working minutes from the origin to ``t``; ``start_at`` and
    ``end_at`` invert it. On this working-time axis every work center looks always open,
    which is what the scheduler and the solver compute on. Intervals are built in chunks
    of days as far as a question reaches.
    """

    def __init__(self, calendar: Calendar, origin: int) -> None:
        self.calendar, self.origin = calendar, origin
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []  # working minutes before each interval
        self.built_to = origin  # every working minute before this is in the lists
        self._open = calendar.is_always_open
        # a night shift of the day before may run past the origin
        local = instant_of(origin).astimezone(_zone(calendar.tz)).date()
        self._first_day = self._next_day = local - timedelta(days=1)

    def worked(self, t: int) -> int:
        """Working minutes in [origin, t)."""
        if t <= self.origin:
            return 0
        if self._open:
            return t - self.origin
        while self.built_to < t:
            self._extend()
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.before[i] + min(t - self.starts[i], self.ends[i] - self.starts[i])

    def start_at(self, w: int) -> int:
        """The instant the working minute ``w`` begins (the next opening after a break)."""
        if self._open:
            return self.origin + w
        while self._total() <= w:
            self._extend()
        i = bisect_right(self.before, w) - 1
        return self.starts[i] + (w - self.before[i])

    def end_at(self, w: int) -> int:
        """The first instant by which ``w`` working minutes have passed."""
        if self._open or w <= 0:
            return self.origin + max(w, 0)
        while self._total() < w:
            self._extend()
        i = bisect_left(self.before, w) - 1
        return self.starts[i] + (w - self.before[i])

    def intervals(self, a: int, b: int) -> list[tuple[int, int]]:
        """The working intervals clipped to [a, b)."""
        if self._open:
            return [(max(a, self.origin), b)] if b > max(a, self.origin) else []
        while self.built_to < b:
            self._extend()
        i = max(bisect_right(self.starts, a) - 1, 0)
        out = []
        for s, e in zip(self.starts[i:], self.ends[i:], strict=True):
            if s >= b:
                break
            if e > a:
                out.append((max(s, a), min(e, b)))
        return out

    def closed_days(self, a: int, b: int) -> list[date]:
        """Holidays of the calendar between two instants (local dates)."""
        zone = _zone(self.calendar.tz)
        first = instant_of(a).astimezone(zone).date()
        last = instant_of(b).astimezone(zone).date()
        return sorted(d for d in self.calendar.holidays if first <= d <= last)

    def _total(self) -> int:
        return self.before[-1] + self.ends[-1] - self.starts[-1] if self.starts else 0

    def _extend(self) -> None:
        calendar, zone = self.calendar, _zone(self.calendar.tz)
        day = self._next_day
        if (day - self._first_day).days > _MAX_DAYS:
            start = instant_of(self.origin).date()
            raise SchedulingError(f"the schedule reaches more than ten years past {start}")
        found = []
        for offset in range(_CHUNK_DAYS):
            d = day + timedelta(days=offset)
            if d in calendar.holidays:
                continue
            for shift in calendar.shifts:
                if shift.weekday != d.weekday():
                    continue
                start = datetime.combine(d, shift.start, zone)
                end_day = d if shift.end > shift.start else d + timedelta(days=1)
                end = datetime.combine(end_day, shift.end, zone)
                found.append((int(start.timestamp()) // 60, int(end.timestamp()) // 60))
        found.sort()
        for s, e in found:
            s = max(s, self.origin)
            if e <= s:
                continue
            if self.starts and s <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], e)
            else:
                self.before.append(self._total())
                self.starts.append(s)
                self.ends.append(e)
        self._next_day = day + timedelta(days=_CHUNK_DAYS)
        # shifts of later days start at their local midnight at the earliest
        midnight = datetime.combine(self._next_day, time(0), zone)
        self.built_to = max(self.origin, int(midnight.timestamp()) // 60)
