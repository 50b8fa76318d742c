"""OEE per station as ISO 22400 defines it, from minute buckets of running time and pieces.

Availability = APT / PBT, performance = ideal time of the pieces / APT, quality = good /
(good + scrap), OEE their product; a ratio is None when its denominator is zero.
Performance is not clamped: above 1 says the configured ideal cycle is wrong.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import ClassVar
from zoneinfo import ZoneInfo

__all__ = ["STATES", "DirtyRows", "KpiRecorder", "Oee", "Shift", "shift_window"]

# The contract's MachineState vocabulary; only "running" is production time.
STATES = frozenset({"running", "idle", "setup", "down", "offline"})

MinuteRow = tuple[str, int, float, int, int, int, float, int]
_MINUTE_COLUMNS = "station, minute, running_s, running_mask, good, scrap, ideal_s, unknown_cycle"


@dataclass(frozen=True)
class Shift:
    """A configured shift in local wall-clock time; ``end <= start`` runs past midnight."""

    name: str
    start: dt.time
    end: dt.time
    days: frozenset[int] = frozenset(range(7))  # weekdays (Monday=0) the shift starts on


def shift_window(
    shifts: Sequence[Shift], now: dt.datetime, tz: ZoneInfo
) -> tuple[str, dt.datetime, dt.datetime] | None:
    """The first shift ``now`` falls in: (name, start, end) in UTC; None outside every shift."""
    _epoch(now)  # refuses a naive datetime: astimezone() would guess the host's zone
    today = now.astimezone(tz).date()
    for shift in shifts:
        # A shift that started yesterday may still be running (night shift).
        for day in (today - dt.timedelta(days=1), today):
            if day.weekday() not in shift.days:
                continue
            end_day = day if shift.end > shift.start else day + dt.timedelta(days=1)
            # Local wall-clock first, then UTC: a DST day makes the shift an hour shorter or longer.
            start = dt.datetime.combine(day, shift.start, tzinfo=tz).astimezone(dt.UTC)
            end = dt.datetime.combine(end_day, shift.end, tzinfo=tz).astimezone(dt.UTC)
            if start <= now < end:
                return shift.name, start, end
    return None


@dataclass(frozen=True)
class Oee:
    """OEE of one station over one window; times in seconds."""

    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    planned_s: float
    running_s: float
    good: int
    scrap: int

    def to_json(self) -> dict[str, float | int | None]:
        """Ratios rounded to 4 places, seconds to the millisecond."""
        data = asdict(self)
        for key in ("availability", "performance", "quality", "oee"):
            data[key] = None if data[key] is None else round(data[key], 4)
        data["planned_s"], data["running_s"] = round(self.planned_s, 3), round(self.running_s, 3)
        return data


@dataclass(frozen=True)
class DirtyRows:
    """What changed since the last save, in the column order of the tables."""

    minutes: list[MinuteRow]
    states: list[tuple[str, str, float]]  # station, state, since (epoch seconds)


@dataclass
class _Bucket:
    running_s: float = 0.0
    # Bit i: the machine ran during second i of the minute; makes window edges exact to the second.
    running_mask: int = 0
    good: int = 0
    scrap: int = 0
    ideal_s: float = 0.0
    unknown_cycle: int = 0


@dataclass
class _State:
    state: str
    since: float


@dataclass
class _Saves:
    """Save bookkeeping: rows stay owed until a later save sees its sequence number committed."""

    seq: int = 0
    dirty: set[tuple[str, int]] = field(default_factory=set)
    dirty_states: set[str] = field(default_factory=set)
    unconfirmed: set[tuple[str, int]] = field(default_factory=set)
    unconfirmed_states: set[str] = field(default_factory=set)
    deleted_before: int | None = None  # cutoff minute of the last delete of old rows


class KpiRecorder:
    """Per-station minute buckets of running time, pieces and ideal time, kept for `keep_hours`."""

    SCHEMA: ClassVar[str] = """
        CREATE TABLE kpi_minutes (
            station TEXT NOT NULL,
            minute INTEGER NOT NULL,  -- unix minute
            running_s REAL NOT NULL,
            running_mask INTEGER NOT NULL,  -- bit i: running during second i of the minute
            good INTEGER NOT NULL,
            scrap INTEGER NOT NULL,
            ideal_s REAL NOT NULL,
            unknown_cycle INTEGER NOT NULL,
            PRIMARY KEY (station, minute)
        );
        CREATE TABLE kpi_state (station TEXT PRIMARY KEY, state TEXT NOT NULL, since REAL NOT NULL);
        -- saved_at: where a restart's gap begins; seq: tells a save whether the last one committed
        CREATE TABLE kpi_saves (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,
                                saved_at REAL NOT NULL);
    """

    def __init__(self, keep_hours: float = 26) -> None:
        self.keep_hours = keep_hours
        self._lock = threading.Lock()
        self._buckets: dict[str, dict[int, _Bucket]] = {}
        self._states: dict[str, _State] = {}
        self._first: dict[str, float] = {}  # when each station was first seen
        self._saves = _Saves()

    def state(self, station: str, state: str, at: dt.datetime) -> None:
        """The machine state of ``station`` became ``state`` at ``at``."""
        if state not in STATES:
            raise ValueError(f"unknown machine state {state!r}")
        t = _epoch(at)
        with self._lock:
            self._first.setdefault(station, t)
            previous = self._states.get(station)
            if previous is not None:
                # A clock a bit behind must not make time run backwards.
                t = max(t, previous.since)
                if previous.state == "running":
                    self._accrue(station, previous.since, t)
            self._states[station] = _State(state, t)
            self._saves.dirty_states.add(station)

    def pieces(
        self, station: str, good: int, scrap: int, ideal_cycle_s: float | None, at: dt.datetime
    ) -> None:
        """Pieces counted at ``at``; ``ideal_cycle_s`` None when the ideal cycle is unknown."""
        if good < 0 or scrap < 0:
            raise ValueError("piece counts cannot be negative")
        if ideal_cycle_s is not None and ideal_cycle_s <= 0:
            raise ValueError("an ideal cycle must be positive; pass None when unknown")
        with self._lock:
            self._first.setdefault(station, _epoch(at))
            bucket = self._bucket(station, _minute(_epoch(at)))
            bucket.good += good
            bucket.scrap += scrap
            if ideal_cycle_s is None:
                bucket.unknown_cycle += good + scrap
            else:
                bucket.ideal_s += (good + scrap) * ideal_cycle_s

    def oee(self, station: str, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> Oee:
        """OEE over [start, min(end, now)]; an open running state counts up to ``now``."""
        lo = _epoch(start)
        hi = max(lo, min(_epoch(end), _epoch(now)))
        planned = hi - lo
        running = ideal = 0.0
        good = scrap = unknown = 0
        first_minute = _minute(lo)
        with self._lock:
            for minute, bucket in self._buckets.get(station, {}).items():
                base = minute * 60
                if first_minute <= minute and base < hi:
                    good += bucket.good
                    scrap += bucket.scrap
                    ideal += bucket.ideal_s
                    unknown += bucket.unknown_cycle
                if base < hi and base + 60 > lo:
                    running += _running_within(bucket, lo - base, hi - base)
            current = self._states.get(station)
            if current is not None and current.state == "running":
                running += max(0.0, hi - max(lo, current.since))
        availability = running / planned if planned > 0 else None
        performance = None
        if running > 0 and (ideal > 0 or unknown == 0):
            performance = ideal / running
        quality = good / (good + scrap) if good + scrap > 0 else None
        oee = None
        if availability is not None and performance is not None and quality is not None:
            oee = availability * performance * quality
        return Oee(availability, performance, quality, oee, planned, running, good, scrap)

    def observed_since(self, station: str) -> dt.datetime | None:
        """Since when the edge knows the station's machine: a window starts no earlier."""
        with self._lock:
            first = self._first.get(station)
        return None if first is None else dt.datetime.fromtimestamp(first, dt.UTC)

    def stations(self) -> list[str]:
        with self._lock:
            return sorted(self._buckets.keys() | self._states.keys())

    def prune(self, now: dt.datetime) -> None:
        """Drop buckets older than ``keep_hours``."""
        cutoff = _minute(_epoch(now) - self.keep_hours * 3600)
        with self._lock:
            for station, buckets in list(self._buckets.items()):
                for minute in [m for m in buckets if m < cutoff]:
                    del buckets[minute]
                if not buckets:
                    del self._buckets[station]
            self._saves.dirty = {key for key in self._saves.dirty if key[1] >= cutoff}

    def dirty_rows(self) -> DirtyRows:
        """The buckets and states changed since the last save."""
        with self._lock:
            return self._rows(self._saves.dirty, self._saves.dirty_states)

    def save(self, conn: sqlite3.Connection, now: dt.datetime | None = None) -> None:
        """Upsert what changed and the time of this save; the caller owns the transaction.

        Call it from one thread (the writer). A save rolled back with its transaction is
        noticed by the next one, which writes those rows again.
        """
        saved_at = _epoch(now or dt.datetime.now(dt.UTC))
        row = conn.execute("SELECT seq FROM kpi_saves WHERE id = 1").fetchone()
        committed = row[0] if row else 0
        with self._lock:
            saves = self._saves
            if committed != saves.seq:
                # The last save was rolled back: write what it carried again.
                saves.dirty |= saves.unconfirmed
                saves.dirty_states |= saves.unconfirmed_states
            rows = self._rows(saves.dirty, saves.dirty_states)
            saves.unconfirmed, saves.dirty = saves.dirty, set()
            saves.unconfirmed_states, saves.dirty_states = saves.dirty_states, set()
            saves.seq = committed + 1
            # Old rows go once a minute; a delete lost to a rollback is covered by the next one.
            cutoff = _minute(saved_at - self.keep_hours * 3600)
            delete_old, saves.deleted_before = cutoff != saves.deleted_before, cutoff
        conn.executemany(
            f"INSERT OR REPLACE INTO kpi_minutes ({_MINUTE_COLUMNS}) VALUES ({', '.join('?' * 8)})",
            rows.minutes,
        )
        conn.executemany(
            "INSERT OR REPLACE INTO kpi_state (station, state, since) VALUES (?, ?, ?)", rows.states
        )
        if delete_old:
            conn.execute("DELETE FROM kpi_minutes WHERE minute < ?", (cutoff,))
        conn.execute(
            "INSERT OR REPLACE INTO kpi_saves (id, seq, saved_at) VALUES (1, ?, ?)",
            (committed + 1, saved_at),
        )

    @classmethod
    def load(
        cls, conn: sqlite3.Connection, now: dt.datetime, keep_hours: float = 26
    ) -> KpiRecorder:
        """Restore a recorder; every station is offline from the last save until it reports."""
        recorder = cls(keep_hours)
        cutoff = _minute(_epoch(now) - keep_hours * 3600)
        for station, minute, *values in conn.execute(
            f"SELECT {_MINUTE_COLUMNS} FROM kpi_minutes WHERE minute >= ?",
            (cutoff,),
        ):
            recorder._buckets.setdefault(station, {})[minute] = _Bucket(*values)
        row = conn.execute("SELECT seq, saved_at FROM kpi_saves WHERE id = 1").fetchone()
        seq, saved_at = row if row else (0, None)
        recorder._saves.seq = seq
        for station, state, since in conn.execute("SELECT station, state, since FROM kpi_state"):
            # The edge was down after its last save: that gap is not running time.
            offline_from = max(since, saved_at if saved_at is not None else since)
            if state == "running":
                recorder._accrue(station, since, offline_from)
            recorder._states[station] = _State("offline", offline_from)
            recorder._saves.dirty_states.add(station)
        for station, buckets in recorder._buckets.items():
            recorder._first[station] = min(buckets) * 60.0  # saved to the minute only
        for station, state in recorder._states.items():
            recorder._first[station] = min(recorder._first.get(station, state.since), state.since)
        recorder.prune(now)
        return recorder

    def _bucket(self, station: str, minute: int) -> _Bucket:
        self._saves.dirty.add((station, minute))
        return self._buckets.setdefault(station, {}).setdefault(minute, _Bucket())

    def _accrue(self, station: str, begin: float, end: float) -> None:
        """Split running time [begin, end) into the minute buckets it spans."""
        # Older than anything kept: a machine running all weekend must not fill days of buckets.
        begin = max(begin, end - self.keep_hours * 3600)
        while begin < end:
            minute = _minute(begin)
            base = minute * 60
            upto = min(end, base + 60)
            bucket = self._bucket(station, minute)
            bucket.running_s += upto - begin
            first, last = math.floor(begin - base), math.ceil(upto - base)
            bucket.running_mask |= ((1 << (last - first)) - 1) << first
            begin = upto

    def _rows(self, minutes: set[tuple[str, int]], states: set[str]) -> DirtyRows:
        rows: list[MinuteRow] = []
        for station, minute in sorted(minutes):
            b = self._buckets.get(station, {}).get(minute)
            if b is not None:
                values = (b.running_s, b.running_mask, b.good, b.scrap, b.ideal_s, b.unknown_cycle)
                rows.append((station, minute, *values))
        return DirtyRows(
            rows,
            [(s, self._states[s].state, self._states[s].since) for s in sorted(states)],
        )


def _running_within(bucket: _Bucket, lo: float, hi: float) -> float:
    """Running seconds of a bucket within [lo, hi) seconds of its minute, exact to the second."""
    if lo <= 0 and hi >= 60:
        return bucket.running_s
    lo, hi = max(lo, 0.0), min(hi, 60.0)
    seconds = sum(
        min(hi, i + 1) - max(lo, i)
        for i in range(math.floor(lo), math.ceil(hi))
        if bucket.running_mask >> i & 1
    )
    return min(seconds, bucket.running_s)


def _minute(epoch: float) -> int:
    # Floor division of floats is exact, so a moment never lands in the next minute's bucket.
    return int(epoch // 60)


def _epoch(moment: dt.datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must carry a time zone")
    return moment.timestamp()
