"""The line: device readings become what stations record.

Machine states come from a state tag through configured rules and are recorded as
``machine_state`` events when they change (``offline`` when the device is lost).
Piece counters are read as counters (protocols.counters): rollover, device reset and
repeated reads never create or lose pieces; a jump faster than physically possible is
flagged and not booked. Booked pieces feed production reports (station workflows).

Each counter's baseline and booked total are saved in the edge's SQLite file whenever a
reading moves them, so a restarted edge books the pieces made while it was down (within
the counter's physical rate) and never books a piece twice.

Machine states are the line's telemetry: while the store is above its high-water mark a
station's state is recorded at most once per ``telemetry_interval_s`` (the newest state
waits and is recorded when the interval has passed; a state the machine left again in
between is never recorded), and while the store is full none is recorded until there is
room again. The dashboard always shows the live state. Counter saves overwrite one row
per counter and do not grow the store.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from edge.devices.base import Reading
from edge.outbox import Outbox
from edge.settings import StationSettings
from protocols.contract import ContractError
from protocols.counters import CounterReason, CounterTracker

log = logging.getLogger(__name__)


@dataclass
class Counter:
    """One piece counter of a station: the hardware counter's tracker and what it booked."""

    tracker: CounterTracker
    booked: int = 0
    implausible: int = 0


@dataclass
class StationState:
    settings: StationSettings
    machine_state: str | None = None
    state_since: datetime | None = None
    state_reason: str | None = None
    counters: dict[str, Counter] = field(default_factory=dict)
    reason: str | None = None

    def booked(self, role: str) -> int:
        counter = self.counters.get(role)
        return counter.booked if counter else 0


class Line:
    def __init__(
        self,
        stations: list[StationSettings],
        outbox: Outbox,
        *,
        clock: Callable[[], float] = time.time,
        telemetry_interval_s: float = 60.0,
    ) -> None:
        self.outbox = outbox
        self.clock = clock  # wall time, the clock of the readings' timestamps
        self.telemetry_interval_s = telemetry_interval_s
        # what each station's machine_state events last said, and when: see _record
        self._recorded: dict[str, tuple[str, float]] = {}
        self._deferred: dict[str, dict[str, object]] = {}
        self.downsampled = 0  # machine states superseded before the store had room for them
        self.stations = {s.name: StationState(s) for s in stations}
        self._by_signal: dict[str, list[tuple[StationState, str]]] = {}
        for state in self.stations.values():
            cfg = state.settings
            for role, signal in (("good", cfg.good_counter), ("scrap", cfg.scrap_counter)):
                if signal:
                    tracker = CounterTracker(bits=cfg.counter_bits, max_rate=cfg.max_rate)
                    state.counters[role] = Counter(tracker)
                    self._by_signal.setdefault(signal, []).append((state, role))
            if cfg.state:
                self._by_signal.setdefault(cfg.state.tag, []).append((state, "state"))
                if cfg.state.reason_tag:
                    self._by_signal.setdefault(cfg.state.reason_tag, []).append((state, "reason"))
        # who hears of booked pieces and state changes (the station workflows): set by the node
        self.on_pieces: Callable[[str, str, int, datetime], None] = lambda *_: None
        self.on_state: Callable[[str, str, datetime], None] = lambda *_: None
        self.outbox.writer.run(self._load_counters)

    def counted(self, station: str) -> tuple[int, int]:
        """The good and scrap pieces the station's counters booked so far."""
        state = self.stations.get(station)
        return (state.booked("good"), state.booked("scrap")) if state else (0, 0)

    def _load_counters(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            "SELECT station, counter, booked, implausible, tracker FROM station_counters"
        )
        for station, role, booked, implausible, tracker in rows:
            known = self.stations.get(station)
            counter = known.counters.get(role) if known else None
            if counter is None:
                continue  # the station or counter is no longer configured
            counter.booked, counter.implausible = booked, implausible
            try:
                saved = CounterTracker.from_dict(orjson.loads(tracker))
            except ValueError as exc:
                log.error(
                    "saved counter state unusable; counter re-baselines",
                    extra={"station": station, "counter": role, "error": str(exc)},
                )
                continue
            if saved.bits != counter.tracker.bits:  # a changed width makes the baseline void
                continue
            # Down longer than the counter takes to wrap, a reset and a rollover look alike:
            # the old baseline could book pieces never made, so the counter starts afresh.
            wrap_s = 2**saved.bits / counter.tracker.max_rate
            age = self.clock() - (saved.last_timestamp or 0.0)
            if saved.last_timestamp is not None and age > wrap_s:
                log.warning(
                    "edge was down longer than a counter wrap; counter re-baselines",
                    extra={"station": station, "counter": role, "down_s": round(age)},
                )
                continue
            counter.tracker.last_value = saved.last_value
            counter.tracker.last_timestamp = saved.last_timestamp

    def on_readings(self, readings: list[Reading]) -> None:
        for reading in readings:
            for state, role in self._by_signal.get(f"{reading.device}.{reading.tag}", ()):
                if reading.quality != "good" or reading.value is None:
                    continue
                if role in ("good", "scrap"):
                    self._count(state, role, reading)
                elif role == "reason":
                    state.reason = str(reading.value) or None
                else:
                    self._state(state, reading)
        if self._deferred:
            self._flush_deferred()

    def _count(self, state: StationState, role: str, reading: Reading) -> None:
        value = reading.value
        if not isinstance(value, int) or isinstance(value, bool):
            return
        counter = state.counters[role]
        try:
            booked = counter.tracker.feed(value, reading.source_ts.timestamp())
        except ValueError as exc:
            log.warning(
                "counter value refused",
                extra={"station": state.settings.name, "counter": role, "error": str(exc)},
            )
            return
        if booked.reason is CounterReason.UNCHANGED:
            return
        if booked.reason is CounterReason.IMPLAUSIBLE:
            counter.implausible += 1
            log.warning(
                "implausible counter jump not booked",
                extra={"station": state.settings.name, "counter": role, "value": value},
            )
        elif booked.reason is CounterReason.RESET:
            log.info("counter reset", extra={"station": state.settings.name, "counter": role})
        counter.booked += booked.delta
        self._save(state.settings.name, role, counter)
        if booked.delta:
            self.on_pieces(state.settings.name, role, booked.delta, reading.source_ts)

    def _save(self, station: str, role: str, counter: Counter) -> None:
        """Queue the counter's new baseline and total; the writer commits it with its group."""
        row = (
            station,
            role,
            counter.booked,
            counter.implausible,
            orjson.dumps(counter.tracker.to_dict()).decode(),
            time.time(),
        )

        def save(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO station_counters VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (station, counter) DO UPDATE SET booked = excluded.booked, "
                "implausible = excluded.implausible, tracker = excluded.tracker, "
                "updated_at = excluded.updated_at",
                row,
            )

        self.outbox.writer.submit(save).add_done_callback(_log_failure(station, role))

    def _state(self, state: StationState, reading: Reading) -> None:
        rule = state.settings.state
        assert rule is not None
        new = rule.values.get(str(reading.value), "down")
        reason = None
        if new == "down":
            reason = state.reason or (
                None if str(reading.value) in rule.values else f"state value {reading.value!r}"
            )
            reason = reason or "no reason given"
        self._record(state, new, reason, reading.source_ts)

    def device_down(self, device: str, error: str) -> None:
        """A device stopped answering: its stations' machines are offline."""
        for state in self.stations.values():
            rule = state.settings.state
            if rule and rule.tag.split(".", 1)[0] == device:
                self._record(state, "offline", error[:200], datetime.now(UTC))
        if self._deferred:
            self._flush_deferred()

    def _record(self, state: StationState, new: str, reason: str | None, since: datetime) -> None:
        if new == state.machine_state:
            return
        state.machine_state, state.state_since, state.state_reason = new, since, reason
        payload: dict[str, object] = {
            "machine": state.settings.machine,
            "state": new,
            "since": since.isoformat(),
        }
        if reason:
            payload["reason"] = reason
        name = state.settings.name
        if self._deferred.pop(name, None) is not None:
            self.downsampled += 1
        recorded = self._recorded.get(name)
        if self._may_record(name):
            self._submit(name, payload)
        elif recorded is None or recorded[0] != new:
            self._deferred[name] = payload  # unless the machine is back where it was recorded
        log.info("machine state", extra={"station": name, "state": new, "reason": reason})
        self.on_state(name, new, since)

    def _may_record(self, station: str) -> bool:
        """Telemetry goes in at once below the high-water mark, else once per interval."""
        level = self.outbox.writer.usage().level
        if level == "ok":
            return True
        if level == "full":
            return False
        recorded = self._recorded.get(station)
        return recorded is None or self.clock() - recorded[1] >= self.telemetry_interval_s

    def _flush_deferred(self) -> None:
        for station in [s for s in self._deferred if self._may_record(s)]:
            self._submit(station, self._deferred.pop(station))

    def _submit(self, station: str, payload: dict[str, object]) -> None:
        try:
            self.outbox.submit("machine_state", station, payload)
        except ContractError as exc:
            log.error(
                "machine state not recorded", extra={"station": station, "reason": exc.reason}
            )
            return
        self._recorded[station] = (str(payload["state"]), self.clock())

    def status(self) -> dict[str, dict[str, object]]:
        return {
            name: {
                "machine": s.settings.machine,
                "machine_state": s.machine_state,
                "state_since": s.state_since.isoformat() if s.state_since else None,
                "reason": s.state_reason,
                "good": s.booked("good"),
                "scrap": s.booked("scrap"),
                "implausible_jumps": sum(c.implausible for c in s.counters.values()),
            }
            for name, s in self.stations.items()
        }


def _log_failure(station: str, role: str) -> Any:
    def done(future: Future[None]) -> None:
        if future.exception() is not None:
            log.error(
                "counter state not saved",
                extra={"station": station, "counter": role, "error": str(future.exception())},
            )

    return done
