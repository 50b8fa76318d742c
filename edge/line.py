"""The line: device readings become what stations record.

Machine states come from a state tag through configured rules and are recorded as
``machine_state`` events when they change (``offline`` when the device is lost).
Piece counters are read as counters (protocols.counters): rollover, device reset and
repeated reads never create or lose pieces; a jump faster than physically possible is
flagged and not booked. Booked pieces feed production reports (station workflows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge.devices.base import Reading
from edge.outbox import Outbox
from edge.settings import StationSettings
from protocols.contract import ContractError
from protocols.counters import CounterReason, CounterTracker

log = logging.getLogger(__name__)


@dataclass
class StationState:
    settings: StationSettings
    machine_state: str | None = None
    good: int = 0
    scrap: int = 0
    implausible: int = 0
    trackers: dict[str, CounterTracker] = field(default_factory=dict)
    reason: str | None = None


class Line:
    def __init__(self, stations: list[StationSettings], outbox: Outbox) -> None:
        self.outbox = outbox
        self.stations = {s.name: StationState(s) for s in stations}
        self._by_signal: dict[str, list[tuple[StationState, str]]] = {}
        for state in self.stations.values():
            cfg = state.settings
            for role, signal in (("good", cfg.good_counter), ("scrap", cfg.scrap_counter)):
                if signal:
                    state.trackers[role] = CounterTracker(
                        bits=cfg.counter_bits, max_rate=cfg.max_rate
                    )
                    self._by_signal.setdefault(signal, []).append((state, role))
            if cfg.state:
                self._by_signal.setdefault(cfg.state.tag, []).append((state, "state"))
                if cfg.state.reason_tag:
                    self._by_signal.setdefault(cfg.state.reason_tag, []).append((state, "reason"))

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

    def _count(self, state: StationState, role: str, reading: Reading) -> None:
        value = reading.value
        if not isinstance(value, int) or isinstance(value, bool):
            return
        try:
            booked = state.trackers[role].feed(value, reading.source_ts.timestamp())
        except ValueError as exc:
            log.warning(
                "counter value refused",
                extra={"station": state.settings.name, "counter": role, "error": str(exc)},
            )
            return
        if booked.reason is CounterReason.IMPLAUSIBLE:
            state.implausible += 1
            log.warning(
                "implausible counter jump not booked",
                extra={"station": state.settings.name, "counter": role, "value": value},
            )
        elif booked.reason is CounterReason.RESET:
            log.info("counter reset", extra={"station": state.settings.name, "counter": role})
        setattr(state, role, getattr(state, role) + booked.delta)

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

    def _record(self, state: StationState, new: str, reason: str | None, since: datetime) -> None:
        if new == state.machine_state:
            return
        state.machine_state = new
        payload: dict[str, object] = {
            "machine": state.settings.machine,
            "state": new,
            "since": since.isoformat(),
        }
        if reason:
            payload["reason"] = reason
        try:
            self.outbox.submit("machine_state", state.settings.name, payload)
        except ContractError as exc:
            log.error(
                "machine state not recorded",
                extra={"station": state.settings.name, "reason": exc.reason},
            )
        log.info(
            "machine state", extra={"station": state.settings.name, "state": new, "reason": reason}
        )

    def status(self) -> dict[str, dict[str, object]]:
        return {
            name: {
                "machine": s.settings.machine,
                "machine_state": s.machine_state,
                "good": s.good,
                "scrap": s.scrap,
                "implausible_jumps": s.implausible,
            }
            for name, s in self.stations.items()
        }
