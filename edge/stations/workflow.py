"""A station's workflow as pure transitions: state in, new state and events out.

Every step takes a ``StationState`` and a ``Context`` (what the station checks against
and the time), and returns an ``Outcome``: the new state, the events to record and the
text the worker reads. A rule that says no raises ``Refused``; the old state stands.
The caller commits the events and the new state in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from edge.stations.catalog import Catalog, Order, OrderOperation
from edge.stations.crew import Crew, Stint
from edge.stations.errors import Refused
from edge.stations.material import LotScan, check_issue, requirement
from edge.stations.reporting import ReportPolicy, build_report

Event = tuple[str, dict[str, Any]]  # (kind, payload) at this station


@dataclass(frozen=True)
class Job:
    """The operation a station is working on now."""

    work_order: str
    operation: str
    started_at: datetime


@dataclass(frozen=True)
class Tally:
    """What this station recorded for one operation: pieces, inspections, material."""

    good: int = 0
    scrap: int = 0
    inspected: int = 0
    issued: Mapping[str, float] = field(default_factory=dict)  # component -> quantity
    closed: bool = False


@dataclass(frozen=True)
class Pending:
    """A lot label accepted so far, waiting for its quantity or a supervisor's approval."""

    kind: Literal["quantity", "approval"]
    lot: LotScan
    item: str
    unit: str


@dataclass(frozen=True)
class Message:
    """The answer shown on the terminal; ``id`` grows with every message."""

    id: int
    accepted: bool
    text: str
    reason_code: str | None
    at: datetime


@dataclass(frozen=True)
class StationState:
    station: str
    crew: Crew
    last_report_at: datetime
    job: Job | None = None
    tallies: Mapping[tuple[str, str], Tally] = field(default_factory=dict)
    # counter totals (good, scrap) already reported or set aside: the rest is unreported
    marks: tuple[int, int] = (0, 0)
    pending: Pending | None = None
    defects: Mapping[str, int] = field(default_factory=dict)  # scanned, for the next inspection
    message: Message | None = None
    unattributed: int = 0  # counted while no operation ran here: never reported

    @classmethod
    def new(cls, station: str, now: datetime) -> StationState:
        return cls(station=station, crew=Crew(station), last_report_at=now)

    def tally(self, work_order: str, operation: str) -> Tally:
        return self.tallies.get((work_order, operation), Tally())

    def told(
        self, accepted: bool, text: str, reason_code: str | None, at: datetime
    ) -> StationState:
        number = self.message.id + 1 if self.message else 1
        return replace(self, message=Message(number, accepted, text, reason_code, at))


@dataclass(frozen=True)
class StationRules:
    """How one station works (from the edge's configuration)."""

    policy: ReportPolicy = field(default_factory=lambda: ReportPolicy(10, 60.0))
    inspection_check: Literal["sample", "full"] = "sample"


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    rules: StationRules
    counted: tuple[int, int]  # the station's counter totals now (good, scrap)
    now: datetime
    today: date  # the plant's local date, for lot expiry


@dataclass(frozen=True)
class Outcome:
    state: StationState
    events: list[Event]
    text: str


def unreported(state: StationState, ctx: Context) -> tuple[int, int]:
    """Good and scrap counted since the last report; never negative (a counter whose
    total fell below its mark, e.g. one removed from the configuration, counts nothing)."""
    return (
        max(ctx.counted[0] - state.marks[0], 0),
        max(ctx.counted[1] - state.marks[1], 0),
    )


def _crew_needed(state: StationState, doing: str) -> None:
    if not state.crew.present:
        raise Refused("no_crew", f"Log in first: scan your badge to {doing}.")


def _job(state: StationState, ctx: Context) -> tuple[Job, Order, OrderOperation]:
    if state.job is None:
        raise Refused("no_work_order", "No work order running here. Scan the work order first.")
    job = state.job
    try:
        order = ctx.catalog.order(job.work_order)
    except Refused:
        raise Refused(
            "work_order_withdrawn",
            f"Work order {job.work_order} is no longer released for this line. "
            "Ask your supervisor.",
        ) from None
    return job, order, ctx.catalog.operation(job.work_order, job.operation)


def logout(
    state: StationState,
    ctx: Context,
    badge_code: str,
    reason: Literal["logout", "shift_end", "timeout", "replaced"] = "logout",
    at: datetime | None = None,
) -> Outcome:
    """``badge_code`` leaves the station (at ``at``, default now)."""
    crew = state.crew.logout(badge_code, at or ctx.now)
    known = ctx.catalog.operators.get(badge_code)
    event = ("operator_logout", {"operator": badge_code, "reason": reason})
    text = f"Goodbye {known.name if known else badge_code}."
    return Outcome(replace(state, crew=crew), [event], text)


def sign_in(state: StationState, ctx: Context, badge_code: str) -> Outcome:
    """A badge signing in at the terminal: logs in who is not here; who is, stays."""
    if badge_code in state.crew.present:
        name = ctx.catalog.operator(badge_code).name
        return Outcome(state, [], f"Welcome back {name}.")
    return badge(state, ctx, badge_code)


def badge(state: StationState, ctx: Context, badge_code: str) -> Outcome:
    """A badge scan: logs in who is not here, logs out who is."""
    if badge_code in state.crew.present:
        return logout(state, ctx, badge_code)
    crew = state.crew
    if state.job is not None:
        try:
            op = ctx.catalog.operation(state.job.work_order, state.job.operation)
            crew = crew.at_work_center(op.work_center)
        except Refused:  # the order was withdrawn: nothing to check the skill against
            crew = crew.at_work_center(None)
    crew = crew.login(ctx.catalog, badge_code, ctx.now)
    name = ctx.catalog.operator(badge_code).name
    event = ("operator_login", {"operator": badge_code})
    return Outcome(replace(state, crew=crew), [event], f"Welcome {name}.")


def _report(
    state: StationState,
    ctx: Context,
    *,
    good: int = 0,
    scrap: int = 0,
    operation_end: bool = False,
    force: bool = False,
    approved_by: str | None = None,
) -> tuple[StationState, list[Event]]:
    """Report what is unreported for the running job (counters plus ``good``/``scrap``)."""
    from_counter = unreported(state, ctx)
    if state.job is None:
        return state, []
    job = state.job
    start, end = state.last_report_at, max(ctx.now, state.last_report_at)
    hours = state.crew.hours_by_badge(start, end)
    total_good, total_scrap = from_counter[0] + good, from_counter[1] + scrap
    if not (total_good or total_scrap or operation_end or (force and any(hours.values()))):
        return state, []
    payload = build_report(
        job.work_order,
        job.operation,
        total_good,
        total_scrap,
        start,
        end,
        hours,
        source="counter" if (good, scrap) == (0, 0) and any(from_counter) else "terminal",
        operation_end=operation_end,
    )
    if approved_by is not None:
        payload["closed_short_approved_by"] = approved_by
    tally = state.tally(job.work_order, job.operation)
    tally = replace(tally, good=tally.good + total_good, scrap=tally.scrap + total_scrap)
    state = replace(
        state,
        tallies={**state.tallies, (job.work_order, job.operation): tally},
        marks=ctx.counted,
        last_report_at=end,
        crew=state.crew.forget_before(end),
    )
    return state, [("production_report", payload)]


def due_report(state: StationState, ctx: Context) -> Outcome | None:
    """A counter report if the station's policy says one is due now."""
    if state.job is None:
        return None
    pieces = sum(unreported(state, ctx))
    if not ctx.rules.policy.due(pieces, state.last_report_at, ctx.now):
        return None
    new, events = _report(state, ctx)
    return Outcome(new, events, "") if events else None


def set_aside(state: StationState, ctx: Context) -> StationState:
    """Pieces counted while no operation runs here belong to nobody: count them, move on."""
    if state.job is not None or ctx.counted == state.marks:
        return state
    pieces = sum(unreported(state, ctx))
    return replace(state, marks=ctx.counted, unattributed=state.unattributed + pieces)


def start(state: StationState, ctx: Context, work_order: str) -> Outcome:
    """Start the operation of ``work_order`` done at this station; reports the old job first."""
    _crew_needed(state, "start a work order")
    order = ctx.catalog.order(work_order)
    op = ctx.catalog.operation_at(work_order, state.station)
    tally = state.tally(work_order, op.operation)
    if op.status == "done" or tally.closed:
        raise Refused("operation_done", f"{op.operation} of {work_order} is already finished here.")
    if state.job and (state.job.work_order, state.job.operation) == (work_order, op.operation):
        return Outcome(state, [], f"{work_order} {op.operation} is already running here.")
    for badge_code in state.crew.present:
        operator = ctx.catalog.operator(badge_code)
        if op.work_center not in operator.skills:
            raise Refused(
                "missing_skill",
                f"{operator.name} ({badge_code}) is not qualified for work center "
                f"{op.work_center}. Ask your supervisor.",
            )
    state = set_aside(state, ctx)
    state, events = _report(state, ctx, force=True)  # the old job's pieces and hours
    if (work_order, op.operation) not in state.tallies:
        # resuming an operation begun elsewhere or before: central's count is the start
        state = replace(
            state, tallies={**state.tallies, (work_order, op.operation): Tally(good=op.good)}
        )
    job = Job(work_order, op.operation, ctx.now)
    state = replace(
        state,
        job=job,
        crew=state.crew.at_work_center(op.work_center),
        pending=None,
        defects={},
        marks=ctx.counted,
        last_report_at=ctx.now,
    )
    state = replace(state, crew=state.crew.forget_before(ctx.now))
    return Outcome(state, events, f"Started {work_order} {op.operation}: {order.item}.")


def lot(state: StationState, ctx: Context, scanned: LotScan) -> Outcome:
    """A material lot label: issued at once when it says how much, else asks."""
    _crew_needed(state, "issue material")
    job, _, _ = _job(state, ctx)
    issued = _issued(state, ctx, scanned)
    try:
        payload = check_issue(
            ctx.catalog,
            job.work_order,
            job.operation,
            scanned,
            issued,
            ctx.today,
            operators=state.crew.present,
        )
    except Refused as refused:
        if refused.reason_code not in ("quantity_needed", "over_issue") or not scanned.gtin:
            raise
        item = ctx.catalog.item_by_gtin(scanned.gtin)  # known: the check got past it
        if refused.reason_code == "quantity_needed":
            pending = Pending("quantity", scanned, item.item, item.unit)
            return Outcome(
                replace(state, pending=pending),
                [],
                f"Lot {scanned.batch} of {item.item} is right. Enter the quantity.",
            )
        pending = Pending("approval", scanned, item.item, item.unit)
        raise Held(replace(state, pending=pending), refused) from None
    return _issue(state, job, payload)


class Held(Exception):
    """A refusal that leaves something waiting (an over-issue for approval): keep ``state``."""

    def __init__(self, state: StationState, refused: Refused) -> None:
        super().__init__(refused.message)
        self.state, self.refused = state, refused


def _issued(state: StationState, ctx: Context, scanned: LotScan) -> float:
    if state.job is None or scanned.gtin is None:
        return 0.0
    try:
        item = ctx.catalog.item_by_gtin(scanned.gtin).item
    except Refused:
        return 0.0
    return state.tally(state.job.work_order, state.job.operation).issued.get(item, 0.0)


def _issue(state: StationState, job: Job, payload: dict[str, Any]) -> Outcome:
    tally = state.tally(job.work_order, job.operation)
    item = payload["item"]
    issued = {**tally.issued, item: tally.issued.get(item, 0.0) + payload["quantity"]}
    state = replace(
        state,
        pending=None,
        tallies={**state.tallies, (job.work_order, job.operation): replace(tally, issued=issued)},
    )
    text = f"Lot {payload['lot']} of {item} issued: {payload['quantity']:g} {payload['unit']}."
    if "over_issue_approved_by" in payload:
        text += f" Over-issue approved by {payload['over_issue_approved_by']}."
    return Outcome(state, [("material_issue", payload)], text)


def quantity(state: StationState, ctx: Context, amount: float) -> Outcome:
    """The quantity of the lot waiting for one."""
    if state.pending is None or state.pending.kind != "quantity":
        raise Refused("nothing_pending", "No lot is waiting for a quantity. Scan a lot label.")
    return lot(state, ctx, replace(state.pending.lot, quantity=amount))


def approve(state: StationState, ctx: Context, supervisor: str) -> Outcome:
    """A supervisor (PIN already checked) approves the pending over-issue."""
    if state.pending is None or state.pending.kind != "approval":
        raise Refused("nothing_pending", "There is no over-issue waiting for approval.")
    job, _, _ = _job(state, ctx)
    payload = check_issue(
        ctx.catalog,
        job.work_order,
        job.operation,
        state.pending.lot,
        _issued(state, ctx, state.pending.lot),
        ctx.today,
        operators=state.crew.present,
        approved_by=supervisor,
    )
    return _issue(state, job, payload)


def cancel(state: StationState) -> Outcome:
    if state.pending is None and not state.defects:
        return Outcome(state, [], "Nothing to cancel.")
    return Outcome(replace(state, pending=None, defects={}), [], "Cancelled.")


def report(state: StationState, ctx: Context, good: int, scrap: int) -> Outcome:
    """Counts entered at the terminal, reported at once with the counters' unreported ones."""
    _crew_needed(state, "report")
    _job(state, ctx)
    if good < 0 or scrap < 0 or good + scrap == 0:
        raise Refused("bad_quantity", "Enter how many good and scrap pieces: more than zero.")
    new, events = _report(state, ctx, good=good, scrap=scrap)
    return Outcome(new, events, f"Reported {good} good, {scrap} scrap.")


def defect(state: StationState, ctx: Context, code: str) -> Outcome:
    """A scanned defect code, kept for the inspection being entered."""
    _job(state, ctx)
    description = ctx.catalog.defect_code(code)
    defects = {**state.defects, code: state.defects.get(code, 0) + 1}
    return Outcome(
        replace(state, defects=defects),
        [],
        f"Defect {code} ({description}) noted: {defects[code]} so far.",
    )


@dataclass(frozen=True)
class InspectionInput:
    inspected: int
    disposition: Literal["accept", "rework", "scrap"]
    defects: Mapping[str, int] | None = None  # None: the defect codes scanned so far
    check: Literal["sample", "full"] = "sample"
    result: Literal["pass", "fail"] | None = None
    rework_operation: str | None = None
    inspector: str | None = None  # a badge logged in here; default: the first one
    lot: str | None = None
    serial: str | None = None


def inspect(state: StationState, ctx: Context, given: InspectionInput) -> Outcome:
    _crew_needed(state, "record an inspection")
    job, order, _ = _job(state, ctx)
    inspector = given.inspector or state.crew.present[0]
    if inspector not in state.crew.present:
        raise Refused("not_logged_in", f"Inspector {inspector} is not logged in here.")
    if given.inspected < 1:
        raise Refused("bad_quantity", "Enter how many pieces were inspected: at least one.")
    defects = dict(state.defects if given.defects is None else given.defects)
    for code, count in defects.items():
        ctx.catalog.defect_code(code)
        if count < 1:
            raise Refused("bad_quantity", f"Defect {code}: the quantity must be at least one.")
    result = given.result or ("pass" if given.disposition == "accept" and not defects else "fail")
    if result == "pass" and given.disposition != "accept":
        raise Refused("bad_disposition", "A passed inspection is accepted: not rework, not scrap.")
    target = given.rework_operation
    if target is not None:
        if given.disposition != "rework":
            raise Refused("bad_disposition", "Only reworked pieces go back to an operation.")
        names = [op.operation for op in order.operations]
        if target not in names or names.index(target) > names.index(job.operation):
            raise Refused(
                "bad_rework_operation",
                f"Rework goes back to {job.operation} or an operation before it, not {target}.",
            )
    payload: dict[str, Any] = {
        "work_order": job.work_order,
        "operation": job.operation,
        "inspected": given.inspected,
        "defects": [{"code": c, "quantity": n} for c, n in sorted(defects.items())],
        "disposition": given.disposition,
        "inspector": inspector,
        "check": given.check,
        "result": result,
    }
    for key in ("lot", "serial"):
        if getattr(given, key):
            payload[key] = getattr(given, key)
    if given.disposition == "rework":
        payload["rework_operation"] = target or job.operation
    tally = state.tally(job.work_order, job.operation)
    tally = replace(tally, inspected=tally.inspected + given.inspected)
    state = replace(
        state, defects={}, tallies={**state.tallies, (job.work_order, job.operation): tally}
    )
    text = f"Inspection recorded: {given.inspected} inspected, {result}, {given.disposition}."
    return Outcome(state, [("inspection", payload)], text)


def inspection_due(state: StationState, ctx: Context) -> str | None:
    """Why the running operation may not be closed yet for want of inspection, if it may not."""
    if state.job is None:
        return None
    job = state.job
    order = ctx.catalog.orders.get(job.work_order)
    if order is None or not ctx.catalog.step(order.item, job.operation).inspection_required:
        return None
    tally = state.tally(job.work_order, job.operation)
    if ctx.rules.inspection_check == "full":
        made = tally.good + unreported(state, ctx)[0]
        if tally.inspected < made:
            return (
                f"{job.operation} needs every piece inspected: {tally.inspected} of {made} "
                "so far. Record the inspection first."
            )
    elif tally.inspected == 0:
        return f"{job.operation} needs an inspection before it is closed. Record one first."
    return None


def close(state: StationState, ctx: Context, supervisor: str | None) -> Outcome:
    """End the running operation with its last report; short of target needs a supervisor."""
    _crew_needed(state, "close the operation")
    job, _, op = _job(state, ctx)
    why = inspection_due(state, ctx)
    if why:
        raise Refused("inspection_required", why)
    made = state.tally(job.work_order, job.operation).good + unreported(state, ctx)[0]
    short = made < op.quantity
    if short and supervisor is None:
        raise Refused(
            "short_close",
            f"Only {made} of {op.quantity:g} made. A supervisor must approve closing short.",
        )
    state, events = _report(
        state, ctx, operation_end=True, approved_by=supervisor if short else None
    )
    tally = replace(state.tally(job.work_order, job.operation), closed=True)
    state = replace(
        state,
        job=None,
        pending=None,
        defects={},
        tallies={**state.tallies, (job.work_order, job.operation): tally},
        crew=state.crew.at_work_center(None),
    )
    text = f"{job.operation} of {job.work_order} closed."
    if supervisor and short:
        text += f" Closed short ({made} of {op.quantity:g}), approved by {supervisor}."
    return Outcome(state, events, text)


def forget_withdrawn(state: StationState, catalog: Catalog) -> StationState:
    """Drop tallies of orders central no longer dispatches here (finished or cancelled)."""
    running = state.job.work_order if state.job else None
    kept = {
        key: t for key, t in state.tallies.items() if key[0] in catalog.orders or key[0] == running
    }
    return state if len(kept) == len(state.tallies) else replace(state, tallies=kept)


def material_lines(state: StationState, ctx: Context) -> list[dict[str, Any]]:
    """The running job's BOM lines with what is required, issued and the most allowed."""
    if state.job is None or state.job.work_order not in ctx.catalog.orders:
        return []
    job = state.job
    order = ctx.catalog.orders[job.work_order]
    op = next((o for o in order.operations if o.operation == job.operation), None)
    if op is None:  # central withdrew the operation: nothing to show against
        return []
    issued = state.tally(job.work_order, job.operation).issued
    lines = []
    for line in ctx.catalog.bom_lines(order.item, job.operation):
        item = ctx.catalog.items.get(line.component)
        needed = requirement(line, op.quantity)
        lines.append(
            {
                "component": line.component,
                "description": item.description if item else "",
                "unit": item.unit if item else "pcs",
                "required": round(needed, 6),
                "issued": round(issued.get(line.component, 0.0), 6),
                "limit": round(needed * (1 + line.issue_tolerance), 6),
            }
        )
    return lines


# -- persistence: the state as JSON, for the edge's SQLite file --------------------------------


def to_json(state: StationState) -> dict[str, Any]:
    msg = state.message
    pending = state.pending
    return {
        "station": state.station,
        "crew": {
            "work_center": state.crew.work_center,
            "stints": [
                [s.badge, s.start.isoformat(), s.end.isoformat() if s.end else None]
                for s in state.crew.stints
            ],
        },
        "last_report_at": state.last_report_at.isoformat(),
        "job": None
        if state.job is None
        else [state.job.work_order, state.job.operation, state.job.started_at.isoformat()],
        "tallies": [
            [wo, op, t.good, t.scrap, t.inspected, dict(t.issued), t.closed]
            for (wo, op), t in state.tallies.items()
        ],
        "marks": list(state.marks),
        "pending": None
        if pending is None
        else {
            "kind": pending.kind,
            "item": pending.item,
            "unit": pending.unit,
            "gtin": pending.lot.gtin,
            "batch": pending.lot.batch,
            "expiry": pending.lot.expiry.isoformat() if pending.lot.expiry else None,
            "quantity": pending.lot.quantity,
        },
        "defects": dict(state.defects),
        "message": None
        if msg is None
        else [msg.id, msg.accepted, msg.text, msg.reason_code, msg.at.isoformat()],
        "unattributed": state.unattributed,
    }


def from_json(data: dict[str, Any]) -> StationState:
    dt = datetime.fromisoformat
    crew = Crew(
        data["station"],
        data["crew"]["work_center"],
        tuple(Stint(b, dt(s), dt(e) if e else None) for b, s, e in data["crew"]["stints"]),
    )
    p = data["pending"]
    msg = data["message"]
    return StationState(
        station=data["station"],
        crew=crew,
        last_report_at=dt(data["last_report_at"]),
        job=None
        if data["job"] is None
        else Job(data["job"][0], data["job"][1], dt(data["job"][2])),
        tallies={
            (wo, op): Tally(good, scrap, inspected, issued, closed)
            for wo, op, good, scrap, inspected, issued, closed in data["tallies"]
        },
        marks=(data["marks"][0], data["marks"][1]),
        pending=None
        if p is None
        else Pending(
            p["kind"],
            LotScan(
                p["gtin"],
                p["batch"],
                date.fromisoformat(p["expiry"]) if p["expiry"] else None,
                p["quantity"],
            ),
            p["item"],
            p["unit"],
        ),
        defects=data["defects"],
        message=None if msg is None else Message(msg[0], msg[1], msg[2], msg[3], dt(msg[4])),
        unattributed=data["unattributed"],
    )
