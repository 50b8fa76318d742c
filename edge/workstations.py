"""The stations of this line at work: each step checked, then committed with its events.

A step (badge, work order, lot, quantity, report, inspection, close) runs the pure
workflow (edge.stations.workflow) against the cached dispatch list and master data,
then commits the events and the station's new state in one transaction of the edge's
SQLite file before the worker is told "accepted". Nothing here needs central or the
broker. A reporter thread turns counted pieces into production reports when the
station's policy says one is due.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson

from edge.downlink import Downlink
from edge.kpi import KpiRecorder, Shift, shift_window
from edge.line import Line
from edge.outbox import Outbox
from edge.pins import PinGuard, verify_pin
from edge.settings import EdgeSettings, StationSettings
from edge.stations import Catalog, Refused, ReportPolicy
from edge.stations import workflow as wf
from edge.stations.material import LotScan
from edge.store import StoreFull
from protocols.barcode import DEFAULT_PATTERNS, ScanError, parse_scan
from protocols.changes import Changes
from protocols.contract import ContractError

log = logging.getLogger(__name__)

Step = Callable[[wf.StationState, wf.Context], wf.Outcome]
# a typed quantity: a few digits, maybe a decimal part; a GS1 label of digits is longer
_QUANTITY = re.compile(r"^\d{1,7}(?:[.,]\d{1,6})?$")


class NoSuchStation(LookupError):
    pass


class Denied(Exception):
    """A supervisor's PIN was wrong (``locked_for`` 0) or the badge is locked out."""

    def __init__(self, message: str, locked_for: float = 0.0) -> None:
        super().__init__(message)
        self.message, self.locked_for = message, locked_for


class CannotRecord(Exception):
    """The edge's disk refused the write: nothing was recorded, the worker must know."""


class StoreIsFull(CannotRecord):
    """The store is full: new events are refused until central's acks make room."""


@dataclass
class _Station:
    settings: StationSettings
    rules: wf.StationRules
    state: wf.StationState
    lock: threading.RLock


class Workstations:
    def __init__(
        self,
        settings: EdgeSettings,
        outbox: Outbox,
        downlink: Downlink,
        line: Line,
        changes: Changes,
        *,
        kpi: KpiRecorder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox, self.downlink, self.line, self.changes = outbox, downlink, line, changes
        self.settings, self.clock = settings, clock
        self.tz = ZoneInfo(settings.node.timezone)
        self.supervisors = {s.badge: s for s in settings.supervisors}
        self.shifts = shifts_of(settings)
        self.pins = PinGuard(settings.terminal.pin_attempts, settings.terminal.pin_lockout_s)
        self.kpi = kpi or outbox.writer.run(lambda conn: KpiRecorder.load(conn, self._now()))
        saved = dict(outbox.writer.run(_load_states))
        now = self._now()
        self.stations: dict[str, _Station] = {}
        for cfg in settings.stations:
            policy = ReportPolicy(cfg.report_every_pieces, cfg.report_every_s)
            state = wf.from_json(saved[cfg.name]) if cfg.name in saved else None
            self.stations[cfg.name] = _Station(
                cfg,
                wf.StationRules(policy, cfg.inspection_check),
                state or wf.StationState.new(cfg.name, now),
                threading.RLock(),
            )
        self._catalog_key: tuple[int | None, int | None] = (None, None)
        self._catalog = Catalog.empty()
        self._catalog_good = True  # False while the newest cache could not be read
        self._catalog_lock = threading.Lock()
        # for the metrics: steps accepted per station, refusals per (station, reason)
        self.accepted: Counter[str] = Counter()
        self.refusals: Counter[tuple[str, str]] = Counter()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        line.on_pieces = self._pieces
        line.on_state = self._machine_state
        downlink.on_change = lambda _: self.changes.bump(*self.stations, "line")
        outbox.writer.on_level.append(lambda _: self.changes.bump("line"))

    # -- what the stations check against ------------------------------------------------------

    def catalog(self) -> Catalog:
        """The cached dispatch list and master data as lookups, rebuilt when either changes."""
        listing = self.downlink.current("dispatch_list")
        data = self.downlink.current("master_data")
        key = (listing[0] if listing else None, data[0] if data else None)
        with self._catalog_lock:
            if key != self._catalog_key:
                try:
                    self._catalog = Catalog.from_master_data(
                        listing[1] if listing else {"orders": []}, data[1] if data else {}
                    )
                    self._catalog_good = True
                except ValueError as exc:  # central's bug: keep working from the last good one
                    log.error("master data unusable; keeping the last", extra={"error": str(exc)})
                    self._catalog_good = False
                self._catalog_key = key
            return self._catalog

    def station(self, name: str) -> _Station:
        found = self.stations.get(name)
        if found is None:
            raise NoSuchStation(f"no station {name!r} on this line")
        return found

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def context(self, st: _Station) -> wf.Context:
        now = self._now()
        return wf.Context(
            self.catalog(),
            st.rules,
            self.line.counted(st.settings.name),
            now,
            now.astimezone(self.tz).date(),
        )

    # -- steps -------------------------------------------------------------------------------

    def run(self, name: str, step: Step) -> wf.Message:
        """Run ``step`` at station ``name``; the answer once its events are on disk.

        Raises ``Refused`` (nothing changed), ``StoreIsFull`` or ``CannotRecord`` (nothing
        recorded) or ``NoSuchStation``.
        """
        st = self.station(name)
        with st.lock:
            ctx = self.context(st)
            try:
                outcome = step(st.state, ctx)
            except wf.Held as held:
                told = held.state.told(
                    False, held.refused.message, held.refused.reason_code, ctx.now
                )
                self._commit(st, told, [])
                raise held.refused from None
            except Refused as refused:
                self._refused(st, refused, ctx.now)
                raise
            new = outcome.state.told(True, outcome.text, None, ctx.now)
            before = st.state
            try:
                self._commit(st, new, outcome.events)
            except ContractError as exc:  # e.g. a lot number longer than the contract allows
                invalid = Refused("invalid_input", f"Not recorded: {exc.reason}")
                self._refused(st, invalid, ctx.now)
                raise invalid from None
            except StoreIsFull as full:
                self._refused(st, Refused("store_full", str(full)), ctx.now)
                raise
            self.accepted[name] += 1
            self._count_terminal_pieces(st, before, outcome.events, ctx)
        for kind, payload in outcome.events:
            if kind == "operator_login":
                self._replace_elsewhere(name, payload["operator"])
            if kind == "inspection" and payload.get("rework_operation") not in (
                None,
                payload["operation"],
            ):
                try:
                    self._reopen(payload["work_order"], payload["rework_operation"])
                except CannotRecord:  # the inspection stands; the station refuses until fixed
                    log.error("rework operation not reopened", extra={"station": name})
        assert new.message is not None
        return new.message

    def _replace_elsewhere(self, here: str, badge: str) -> None:
        """One operator works at one station: a login here is a logout anywhere else, so
        no hour is booked twice."""
        for name, st in self.stations.items():
            if name == here:
                continue
            with st.lock:
                if badge not in st.state.crew.present:
                    continue
                outcome = wf.logout(st.state, self.context(st), badge, "replaced")
                try:
                    self._commit(st, outcome.state, outcome.events)
                except CannotRecord:
                    log.error("operator not logged out elsewhere", extra={"station": name})

    def _reopen(self, work_order: str, operation: str) -> None:
        """Rework sent pieces back to an operation closed here: its station may start it again."""
        for st in self.stations.values():
            with st.lock:
                tally = st.state.tallies.get((work_order, operation))
                if tally is not None and tally.closed:
                    tallies = {
                        **st.state.tallies,
                        (work_order, operation): replace(tally, closed=False),
                    }
                    self._commit(st, replace(st.state, tallies=tallies), [])

    def _refused(self, st: _Station, refused: Refused, now: datetime) -> None:
        # the message is shown, nothing else changes, and nothing needs to be on disk
        st.state = st.state.told(False, refused.message, refused.reason_code, now)
        self.refusals[(st.settings.name, refused.reason_code)] += 1
        log.info(
            "station input refused",
            extra={"station": st.settings.name, "reason": refused.reason_code},
        )
        self.changes.bump(st.settings.name)

    def _commit(self, st: _Station, state: wf.StationState, events: list[wf.Event]) -> None:
        name = st.settings.name
        body = orjson.dumps(wf.to_json(state)).decode()

        def save(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO station_state (station, body, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (station) DO UPDATE SET body = excluded.body,"
                " updated_at = excluded.updated_at",
                (name, body, time.time()),
            )

        future = self.outbox.submit_with([(kind, name, p) for kind, p in events], save)
        try:
            # No timeout: a write given up on could still commit later, and the step would
            # then be recorded twice when tried again. The writer settles every unit.
            future.result()
        except ContractError:
            raise
        except StoreFull as exc:
            raise StoreIsFull(str(exc)) from None
        except Exception as exc:
            log.error("station step not recorded", extra={"station": name, "error": str(exc)})
            raise CannotRecord(
                "Not saved: the edge cannot write to its disk. Nothing was recorded; "
                "tell your supervisor."
            ) from exc
        st.state = state
        for kind, payload in events:
            log.info(
                "station step recorded",
                extra={"station": name, "kind": kind, "work_order": payload.get("work_order")},
            )
        self.changes.bump(name, "line")

    def scan(self, name: str, raw: str) -> wf.Message:
        """What a scan at the station means, done: badge, work order, lot, defect, quantity."""
        st = self.station(name)
        text = raw.strip()
        pending = st.state.pending
        if pending is not None and pending.kind == "quantity" and _QUANTITY.match(text):
            amount = float(text.replace(",", "."))
            return self.run(name, lambda s, c: wf.quantity(s, c, amount))
        try:
            scan = parse_scan(raw, DEFAULT_PATTERNS)
        except ScanError as exc:
            refused = Refused("bad_scan", f"Not understood: {exc.reason}")
            with st.lock:
                self._refused(st, refused, self._now())
            raise refused from None
        if scan.kind == "operator_badge":
            return self.run(name, lambda s, c: wf.badge(s, c, scan.value or ""))
        if scan.kind == "work_order":
            return self.run(name, lambda s, c: wf.start(s, c, scan.value or ""))
        if scan.kind == "defect_code":
            return self.run(name, lambda s, c: wf.defect(s, c, scan.value or ""))
        if scan.kind == "gs1":
            return self.run(name, lambda s, c: wf.lot(s, c, LotScan.from_scan(scan)))
        refused = Refused("unexpected_scan", f"A {scan.kind.replace('_', ' ')} is not used here.")
        with st.lock:
            self._refused(st, refused, self._now())
        raise refused

    def sign_in(self, name: str, badge: str) -> tuple[str, wf.Message]:
        """An operator signs in at the station's terminal: logged in to its crew unless
        there already (checked in the step, under the station's lock: a badge scan would
        log them out). Returns their name and the message."""
        self.station(name)
        operator = self.catalog().operator(badge)
        return operator.name, self.run(name, lambda s, c: wf.sign_in(s, c, badge))

    def logged_in_since(self, name: str, badge: str) -> datetime | None:
        """Since when ``badge`` is logged in at station ``name``; None when it is not."""
        st = self.stations.get(name)
        if st is None:
            return None
        stints = [s.start for s in st.state.crew.stints if s.badge == badge and s.end is None]
        return stints[-1] if stints else None

    def supervisor(self, name: str, badge: str, pin: str) -> str:
        """The supervisor's badge once the PIN is right; ``Denied`` otherwise."""
        locked = self.pins.begin(badge)
        if locked:
            log.warning("supervisor locked out", extra={"station": name, "supervisor": badge})
            raise Denied(f"Too many wrong PINs for {badge}: try again in {locked:.0f} s.", locked)
        known = self.supervisors.get(badge)
        ok = verify_pin(pin, known.pin_hash if known else None)
        if ok:
            self.pins.succeeded(badge)
        else:
            log.warning("supervisor PIN refused", extra={"station": name, "supervisor": badge})
            raise Denied("Supervisor badge or PIN is wrong.")
        return badge

    def approve(self, name: str, badge: str, pin: str) -> wf.Message:
        self.station(name)
        who = self.supervisor(name, badge, pin)
        return self.run(name, lambda s, c: wf.approve(s, c, who))

    def close(self, name: str, badge: str | None, pin: str | None) -> wf.Message:
        self.station(name)
        who = self.supervisor(name, badge, pin or "") if badge else None
        return self.run(name, lambda s, c: wf.close(s, c, who))

    # -- counters and machine states ----------------------------------------------------------

    def _ideal_cycle_s(self, st: _Station) -> float | None:
        """The machine's ideal seconds per piece; else the routing's run time per unit.

        A machine's rated cycle is what OEE performance is measured against where it is
        known; a routing's run time is a planning figure and often includes handling.
        """
        if st.settings.ideal_cycle_s is not None:
            return st.settings.ideal_cycle_s
        job = st.state.job
        if job is not None:
            catalog = self._catalog  # as last built: the device loop must not wait for a write
            order = catalog.orders.get(job.work_order)
            run = catalog.step(order.item, job.operation).run_minutes_per_unit if order else None
            if run and run > 0:
                return run * 60.0
        return None

    def _pieces(self, station: str, role: str, delta: int, at: datetime) -> None:
        st = self.stations.get(station)
        if st is None:
            return
        good, scrap = (delta, 0) if role == "good" else (0, delta)
        try:
            self.kpi.pieces(station, good, scrap, self._ideal_cycle_s(st), at)
        except ValueError as exc:  # runs in the device loop: log, never stop the polling
            log.error("pieces not counted for OEE", extra={"station": station, "error": str(exc)})
        self.changes.bump(station, "line")
        self._wake.set()

    def _count_terminal_pieces(
        self, st: _Station, before: wf.StationState, events: list[wf.Event], ctx: wf.Context
    ) -> None:
        if st.settings.machine is None:
            return
        counted_good, counted_scrap = wf.unreported(before, ctx)
        for kind, payload in events:
            if kind == "production_report" and payload["source"] == "terminal":
                # the counters' share of the report is in the KPIs already
                good = payload["good"] - counted_good
                scrap = payload["scrap"] - counted_scrap
                self.kpi.pieces(
                    st.settings.name, max(good, 0), max(scrap, 0), self._ideal_cycle_s(st), ctx.now
                )

    def _machine_state(self, station: str, state: str, since: datetime) -> None:
        try:
            self.kpi.state(station, state, since)
        except ValueError as exc:
            log.error("state not counted for OEE", extra={"station": station, "error": str(exc)})
        self.changes.bump(station, "line")

    # -- the reporter ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._reporter, name="station-reports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.outbox.writer.run(self.kpi.save)
        except Exception as exc:  # the last minute of OEE figures is all that is lost
            log.error("OEE figures not saved at stop", extra={"error": str(exc)})

    def _reporter(self) -> None:
        last_save = last_prune = 0.0
        seen = self._catalog_key
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self.catalog()
                if self._catalog_key != seen and self._catalog_good:
                    self.forget_withdrawn()
                    seen = self._catalog_key
            except Exception:
                log.exception("withdrawn orders not forgotten; trying again")
            for st in self.stations.values():
                try:
                    self.report_if_due(st)
                    self.end_shift(st)
                except StoreIsFull:
                    pass  # the pieces stay counted and are reported once there is room
                except Exception:  # one station's trouble must not stop the others' reports
                    log.exception("station report failed", extra={"station": st.settings.name})
            now = time.monotonic()
            if now - last_save >= 5.0:
                self.outbox.writer.submit(self.kpi.save)
                last_save = now
            if now - last_prune >= 60.0:
                self.kpi.prune(self._now())
                last_prune = now

    def end_shift(self, st: _Station) -> None:
        """Log out whoever is still logged in after their shift ended, at its end.

        A forgotten logout would otherwise book the hours until the next login.
        """
        if not self.shifts:
            return
        with st.lock:
            ctx = self.context(st)
            for stint in st.state.crew.stints:
                if stint.end is not None:
                    continue
                shift = shift_window(self.shifts, stint.start, self.tz)
                if shift is None or shift[2] > ctx.now:
                    continue
                outcome = wf.logout(st.state, ctx, stint.badge, "shift_end", at=shift[2])
                log.info(
                    "logged out at shift end",
                    extra={"station": st.settings.name, "operator": stint.badge},
                )
                self._commit(st, outcome.state, outcome.events)

    def report_if_due(self, st: _Station) -> None:
        with st.lock:
            ctx = self.context(st)
            if st.state.job is None:
                st.state = wf.set_aside(st.state, ctx)
                return
            outcome = wf.due_report(st.state, ctx)
            if outcome is not None:
                self._commit(st, outcome.state, outcome.events)

    def forget_withdrawn(self) -> None:
        """Drop what stations kept of orders central no longer dispatches here."""
        catalog = self.catalog()
        for st in self.stations.values():
            with st.lock:
                kept = wf.forget_withdrawn(st.state, catalog)
                if kept is not st.state:
                    self._commit(st, kept, [])


WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def shifts_of(settings: EdgeSettings) -> list[Shift]:
    return [
        Shift(s.name, s.start, s.end, frozenset(WEEKDAYS[d] for d in s.days))
        for s in settings.shifts
    ]


def _load_states(conn: sqlite3.Connection) -> list[tuple[str, dict[str, object]]]:
    return [
        (station, orjson.loads(body))
        for station, body in conn.execute("SELECT station, body FROM station_state")
    ]
