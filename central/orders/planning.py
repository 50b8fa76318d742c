"""Scheduling the order book: the open production orders as a Problem, and plans saved back.

The engine (central.scheduling) knows nothing of the database; this module reads what
it needs (open production orders with the work still to do, work centers, calendars,
material still to be bought) and writes a chosen schedule onto the operation tasks
and their production orders. A finished task is not planned again; a running one is
planned for the pieces still to make. Calendars are in UTC here: central keeps no time
zone per calendar yet.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from central.db.domain import (
    calendars,
    items,
    operation_tasks,
    production_orders,
    purchase_suggestions,
    work_centers,
)
from central.db.schema import machine_states
from central.scheduling import heuristic
from central.scheduling.calendars import Calendar
from central.scheduling.model import (
    Material,
    Operation,
    Order,
    Problem,
    Schedule,
    WorkCenter,
)

P = production_orders.c
T = operation_tasks.c
OPEN = ("planned", "released", "in_progress")
# A machine reported down is expected back this long after it went down (or from now,
# once that has passed): the edges say when it broke, not when it will be repaired.
REPAIR = timedelta(hours=1)


def day_end(day: date | None) -> datetime | None:
    """A due date means by the end of that day."""
    return None if day is None else datetime.combine(day + timedelta(days=1), time(0), UTC)


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), UTC)


def op_id(work_order: str, operation: str) -> str:
    return f"{work_order}/{operation}"


def problem_of(
    conn: Connection,
    now: datetime,
    *,
    observed: bool = False,
    pins: dict[str, datetime] | None = None,
) -> Problem:
    """The open production orders and the work still to do on them, as of ``now``.

    With ``observed`` a running operation's remaining pieces take as long as its pieces
    so far took (the floor's real pace), not the routing's run time. ``pins`` (operation
    id -> instant) are a planner's moves: those operations start no earlier.
    """
    pins = pins or {}
    centers = {}
    calendar_rows = {r.id: r for r in conn.execute(select(calendars))}
    wc_code = {}
    broken = _broken(conn, now)
    back: dict[str, datetime] = {}  # work center -> when its last machine is back
    for wc in conn.execute(select(work_centers)):
        row = calendar_rows.get(wc.calendar_id)
        calendar = Calendar.from_rows(row.shifts, row.holidays) if row else Calendar.always_open()
        down = [broken[(wc.edge_id, s)] for s in wc.stations or () if (wc.edge_id, s) in broken]
        machines = wc.capacity - len(down)
        if machines < 1:  # every machine down: nothing starts there before one is back
            machines, back[wc.code] = 1, min(down)
        centers[wc.code] = WorkCenter(wc.code, calendar, machines=machines)
        wc_code[wc.id] = wc.code
    orders = conn.execute(
        select(P.id, P.number, P.due_date, P.release_date, P.priority)
        .where(P.status.in_(OPEN))
        .order_by(P.number)
    ).all()
    tasks: dict[int, list[Any]] = defaultdict(list)
    for task in conn.execute(
        select(operation_tasks)
        .where(T.production_order_id.in_([o.id for o in orders]))
        .order_by(T.sequence)
    ):
        tasks[task.production_order_id].append(task)
    lead = dict(conn.execute(select(items.c.id, items.c.lead_time_days)).all())
    code = dict(conn.execute(select(items.c.id, items.c.code)).all())
    materials: dict[int, list[Material]] = defaultdict(list)
    for s in conn.execute(
        select(purchase_suggestions).where(
            purchase_suggestions.c.status.in_(("open", "ordered")),
            purchase_suggestions.c.production_order_id.is_not(None),
        )
    ):
        arrives = s.created_at.astimezone(UTC) + timedelta(days=lead.get(s.item_id) or 0)
        materials[s.production_order_id].append(Material(code[s.item_id], max(arrives, now)))
    planned = []
    for o in orders:
        remaining = [t for t in tasks[o.id] if t.status != "done"]
        if not remaining:
            continue
        left = {t.operation for t in remaining}
        operations = tuple(
            Operation(
                id=op_id(o.number, t.operation),
                work_centers=(wc_code[t.work_center_id],),
                setup_minutes=0.0 if t.status == "running" else t.setup_minutes,
                run_minutes_per_unit=_pace(t, now) if observed else t.run_minutes_per_unit,
                quantity=max(t.quantity - t.good, 0.0) if t.status == "running" else t.quantity,
                crew_size=t.crew_size,
                predecessors=tuple(op_id(o.number, p) for p in t.predecessors or () if p in left),
                not_before=_latest(
                    pins.get(op_id(o.number, t.operation)),
                    None if t.status == "running" else back.get(wc_code[t.work_center_id]),
                ),
            )
            for t in remaining
        )
        planned.append(
            Order(
                id=o.number,
                operations=operations,
                due=day_end(o.due_date),
                release=_day_start(o.release_date),
                priority=o.priority,
                materials=tuple(materials.get(o.id, ())),
            )
        )
    return Problem(tuple(planned), tuple(centers.values()), now)


def _broken(conn: Connection, now: datetime) -> dict[tuple[str, str], datetime]:
    """(edge, station) of each machine now down or offline -> when it is expected back."""
    rows = conn.execute(
        select(machine_states).where(
            machine_states.c.state.in_(("down", "offline")), machine_states.c.station.is_not(None)
        )
    )
    return {(r.edge_id, r.station): max(now, r.since.astimezone(UTC) + REPAIR) for r in rows}


def _latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _pace(task: Any, now: datetime) -> float:
    """Minutes per piece: as observed on a running task, else as the routing says."""
    if task.status != "running" or task.actual_start is None or task.good <= 0:
        return float(task.run_minutes_per_unit)
    elapsed = (now - task.actual_start.astimezone(UTC)).total_seconds() / 60
    return max(elapsed / task.good, 0.0)


LOAD_HORIZON = timedelta(hours=24)


def work_center_load(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per work center: the open work still to do (hours of machine time, setup included
    for operations not started), the planned hours in the next 24 h against what its
    machines could give in that time (``load``; above 1 it is overbooked), machines down."""
    broken = _broken(conn, now)
    horizon = now + LOAD_HORIZON
    rows = conn.execute(
        select(
            T.work_center_id,
            T.status,
            T.quantity,
            T.good,
            T.setup_minutes,
            T.run_minutes_per_unit,
            T.planned_start,
            T.planned_end,
        )
        .join(production_orders, P.id == T.production_order_id)
        .where(P.status.in_(OPEN), T.status != "done")
    )
    backlog: dict[int, float] = defaultdict(float)
    planned: dict[int, float] = defaultdict(float)
    for r in rows:
        setup = r.setup_minutes if r.status == "pending" else 0.0
        backlog[r.work_center_id] += (
            setup + max(r.quantity - r.good, 0) * r.run_minutes_per_unit
        ) / 60
        if r.planned_start and r.planned_end:
            start = max(r.planned_start.astimezone(UTC), now)
            end = min(r.planned_end.astimezone(UTC), horizon)
            if end > start:
                planned[r.work_center_id] += (end - start).total_seconds() / 3600
    out = []
    for wc in conn.execute(select(work_centers).order_by(work_centers.c.code)):
        down = sum(1 for s in wc.stations or () if (wc.edge_id, s) in broken)
        hours = LOAD_HORIZON.total_seconds() / 3600 * wc.capacity
        out.append(
            {
                "work_center": wc.code,
                "capacity": wc.capacity,
                "machines_down": down,
                "backlog_hours": round(backlog.get(wc.id, 0.0), 2),
                "planned_hours_24h": round(planned.get(wc.id, 0.0), 2),
                "load_24h": round(planned.get(wc.id, 0.0) / hours, 3),
            }
        )
    return out


def open_operations(conn: Connection) -> int:
    """How many operations are still to do on open orders: the size of a scheduling run."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(operation_tasks)
            .join(production_orders, P.id == T.production_order_id)
            .where(P.status.in_(OPEN), T.status != "done")
        ).scalar_one()
    )


def predict(conn: Connection, now: datetime) -> dict[str, datetime]:
    """When each open order will finish at the floor's pace: a forward schedule from now."""
    problem = problem_of(conn, now, observed=True)
    if not problem.orders:
        return {}
    forecast = heuristic.schedule(problem, direction="forward", strategy="fastest", time_limit=0)
    return {o.order: o.finish for o in forecast.orders}


def save_predictions(conn: Connection, finishes: dict[str, datetime]) -> list[str]:
    """Store predicted finishes; returns the orders whose prediction changed."""
    known = dict(conn.execute(select(P.number, P.predicted_end).where(P.status.in_(OPEN))).all())
    changed = [
        wo
        for wo, end in finishes.items()
        if wo in known and (known[wo] is None or known[wo].astimezone(UTC) != end)
    ]
    if changed:
        conn.execute(
            update(production_orders)
            .where(P.number == bindparam("wo"))
            .values(predicted_end=bindparam("end")),
            [{"wo": wo, "end": finishes[wo]} for wo in changed],
        )
    return changed


def predictions(conn: Connection) -> list[dict[str, Any]]:
    """Open orders with their due date, plan and predicted finish; at risk first."""
    rows = conn.execute(
        select(P.number, P.due_date, P.planned_end, P.predicted_end).where(P.status.in_(OPEN))
    ).all()
    out = []
    for r in rows:
        due = day_end(r.due_date)
        predicted = r.predicted_end.astimezone(UTC) if r.predicted_end else None
        out.append(
            {
                "work_order": r.number,
                "due": due.isoformat() if due else None,
                "planned_end": r.planned_end.astimezone(UTC).isoformat() if r.planned_end else None,
                "predicted_end": predicted.isoformat() if predicted else None,
                "at_risk": bool(due and predicted and predicted > due),
            }
        )
    out.sort(key=lambda o: (not o["at_risk"], o["due"] or "9999", o["work_order"]))
    return out


def save(conn: Connection, schedule: Schedule) -> int:
    """Write the schedule's times onto the tasks and their orders; returns tasks planned."""
    rows = []
    for s in schedule.operations:
        work_order, operation = s.operation.rsplit("/", 1)
        rows.append({"wo": work_order, "op": operation, "start": s.start, "end": s.end})
    if rows:
        conn.execute(
            update(operation_tasks)
            .where(T.work_order == bindparam("wo"), T.operation == bindparam("op"))
            .values(planned_start=bindparam("start"), planned_end=bindparam("end")),
            rows,
        )
    orders = [{"wo": o.order, "start": o.start, "end": o.finish} for o in schedule.orders]
    if orders:
        conn.execute(
            update(production_orders)
            .where(P.number == bindparam("wo"))
            .values(planned_start=bindparam("start"), planned_end=bindparam("end")),
            orders,
        )
    return len(rows)


def current(conn: Connection) -> dict[str, tuple[datetime, datetime]]:
    """The saved plan of the open tasks: operation id -> (planned start, planned end)."""
    rows = conn.execute(
        select(T.work_order, T.operation, T.planned_start, T.planned_end)
        .join(production_orders, P.id == T.production_order_id)
        .where(P.status.in_(OPEN), T.planned_start.is_not(None), T.status != "done")
    )
    return {op_id(r.work_order, r.operation): (r.planned_start, r.planned_end) for r in rows}


def to_json(schedule: Schedule) -> dict[str, Any]:
    """A schedule as the API returns it."""
    k = schedule.kpis
    return {
        "direction": schedule.direction,
        "strategy": schedule.strategy,
        "kpis": {
            "makespan_minutes": k.makespan_minutes,
            "total_tardiness_minutes": k.total_tardiness_minutes,
            "late_orders": k.late_orders,
            "work_centers_used": k.work_centers_used,
            "machines_used": k.machines_used,
            "peak_crew": k.peak_crew,
            "utilisation": {wc: round(u, 4) for wc, u in sorted(k.utilisation.items())},
        },
        "orders": [
            {
                "work_order": o.order,
                "start": o.start.isoformat(),
                "finish": o.finish.isoformat(),
                "due": o.due.isoformat() if o.due else None,
                "late": o.late,
                "lateness_minutes": o.lateness_minutes,
                "reason": o.reason,
                "direction": o.direction,
            }
            for o in schedule.orders
        ],
        "operations": [
            {
                "work_order": s.order,
                "operation": s.operation.rsplit("/", 1)[1],
                "work_center": s.work_center,
                "machine": s.machine,
                "crew": s.crew,
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
            }
            for s in schedule.operations
        ],
    }


def changes(
    before: dict[str, tuple[datetime, datetime]], schedule: Schedule
) -> list[dict[str, Any]]:
    """What-if: the operations the proposal moves against the saved plan."""
    moved = []
    for s in schedule.operations:
        was = before.get(s.operation)
        if was is None or was[0] != s.start or was[1] != s.end:
            moved.append(
                {
                    "operation": s.operation,
                    "from": None if was is None else [t.isoformat() for t in was],
                    "to": [s.start.isoformat(), s.end.isoformat()],
                }
            )
    return moved
