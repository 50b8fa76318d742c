"""Scheduling runs over the open production orders, and the Gantt chart's data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy import Connection, select

from central.api.deps import UNKNOWN_TOKEN, Db, Sync, Write, now_of, sync_of, writer
from central.api.errors import Unauthenticated
from central.api.rows import Body
from central.auth import PLANNING, authenticate
from central.db import reading
from central.db.domain import operation_tasks, production_orders, work_centers
from central.orders import planning
from central.scheduling import heuristic
from central.scheduling.errors import SchedulingError
from protocols.api import ApiError
from protocols.changes import event_stream

router = APIRouter(tags=["scheduling"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]
P = production_orders.c
T = operation_tasks.c


class Pin(Body):
    operation: str = Field(
        min_length=3, max_length=130, description="work order / operation, e.g. WO-2026-000012/20"
    )
    start: datetime = Field(description="it starts no earlier than this")


class ScheduleRun(Body):
    direction: Literal["forward", "backward"] = "forward"
    strategy: Literal["fastest", "minimum"] = Field(
        "fastest", description="fastest finish, or the fewest work centers and people"
    )
    optimise: bool = Field(False, description="improve the heuristic with CP-SAT")
    objective: Literal["makespan", "tardiness"] = "makespan"
    time_limit_s: float = Field(10.0, gt=0, le=300, description="the solver's time limit")
    save: bool = Field(
        False, description="write the plan onto the tasks; false: a what-if proposal"
    )
    pins: list[Pin] = Field(
        [], max_length=500, description="operations a planner moved (dragged on the Gantt chart)"
    )


# a busy floor applies many batches a second; a page redraws at most this often
FLOOR_GAP_S = 0.5


@router.post("/schedule-runs")
def run(body: ScheduleRun, write: PlanningWrite, db: Db, sync: Sync) -> dict[str, Any]:
    """Schedule the open production orders; the plan, its KPIs and what it moves.

    Computed outside any write transaction (the floor's events keep flowing); with
    ``save`` the plan is then written onto the tasks and orders in one short one.
    """
    now = write.now
    for pin in body.pins:
        if pin.start.tzinfo is None:
            raise ApiError(422, "invalid_request", "pins: a start needs a UTC offset")
    pins = {p.operation: p.start.astimezone(UTC) for p in body.pins}
    with db.connect() as conn:
        problem = planning.problem_of(conn, now, pins=pins)
        before = planning.current(conn)
    if not problem.orders:
        raise ApiError(409, "nothing_to_schedule", "no open production order has work left")
    known = {op.id for order in problem.orders for op in order.operations}
    unknown = sorted(set(pins) - known)
    if unknown:
        raise ApiError(
            422, "unknown_operation", f"no open operation {unknown[0]} to move", {"field": "pins"}
        )
    try:
        proposal = heuristic.schedule(
            problem, direction=body.direction, strategy=body.strategy, time_limit=1.0
        )
        answer: dict[str, Any] = {}
        if body.optimise:
            from central.scheduling.optimise import optimise

            best = optimise(
                problem, objective=body.objective, time_limit=body.time_limit_s, hint=proposal
            )
            proposal = best.schedule
            answer["solver"] = {
                "objective": best.objective,
                "value": best.value,
                "bound": best.bound,
                "status": best.status,
                "seconds": round(best.seconds, 3),
            }
    except SchedulingError as exc:
        raise ApiError(422, "cannot_schedule", str(exc)) from None
    answer.update(planning.to_json(proposal))
    answer["moved"] = planning.changes(before, proposal)
    answer["saved"] = False
    if body.save:

        def work(conn: Connection) -> int:
            return planning.save(conn, proposal)

        write(work)
        answer["saved"] = True
        sync.changes.bump("planning")  # the planners' pages redraw
    return answer


@router.get("/gantt")
def gantt(
    db: Db,
    by: Annotated[Literal["work_center", "order"], Query()] = "work_center",
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Bars of the open orders' operations, planned and actual, grouped into rows."""
    with db.connect() as conn:
        rows = conn.execute(
            select(
                T.work_order,
                T.operation,
                T.status,
                T.quantity,
                T.good,
                T.planned_start,
                T.planned_end,
                T.actual_start,
                T.actual_end,
                work_centers.c.code.label("work_center"),
                P.due_date,
                P.status.label("order_status"),
            )
            .join(production_orders, P.id == T.production_order_id)
            .join(work_centers, work_centers.c.id == T.work_center_id)
            .where(P.status.in_(planning.OPEN))
            .order_by(T.work_order, T.sequence)
        ).all()
        predicted = planning.predictions(conn)
        load = planning.work_center_load(conn, datetime.now(UTC))
    lo = start.astimezone(UTC) if start else None
    hi = end.astimezone(UTC) if end else None
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        first = r.actual_start or r.planned_start
        last = r.actual_end or r.planned_end
        if (lo and last and last < lo) or (hi and first and first > hi):
            continue
        due = planning.day_end(r.due_date)
        bar = {
            "work_order": r.work_order,
            "operation": r.operation,
            "work_center": r.work_center,
            "status": r.status,
            "planned_start": _iso(r.planned_start),
            "planned_end": _iso(r.planned_end),
            "actual_start": _iso(r.actual_start),
            "actual_end": _iso(r.actual_end),
            "progress": round(min(r.good / r.quantity, 1.0), 4) if r.quantity else 0.0,
            "late": bool(due and r.planned_end and r.planned_end > due),
            "due": _iso(due),
        }
        key = r.work_center if by == "work_center" else r.work_order
        groups.setdefault(key, []).append(bar)
    return {
        "by": by,
        "rows": [{"key": k, "bars": v} for k, v in sorted(groups.items())],
        "predictions": predicted,
        "load": load,
    }


@router.get("/predictions")
def predictions(db: Db) -> dict[str, Any]:
    """Each open order's due date, planned and predicted finish; orders at risk first."""
    with db.connect() as conn:
        return {"items": planning.predictions(conn)}


@router.get("/planning/stream")
async def planning_stream(
    request: Request, token: Annotated[str, Query(description="the API token")]
) -> StreamingResponse:
    """Server-sent events for the planner's page: ``gantt`` when plans or predictions move.

    EventSource cannot send headers, so the token comes as a query parameter.
    """
    return _stream(request, token, "planning", "gantt")


@router.get("/floor/stream")
async def floor_stream(
    request: Request, token: Annotated[str, Query(description="the API token")]
) -> StreamingResponse:
    """Server-sent events: ``progress`` after central applied events that move the order
    book (at most twice a second), for pages that show orders moving."""
    return _stream(request, token, "floor", "progress", min_gap_s=FLOOR_GAP_S)


def _stream(
    request: Request, token: str, topic: str, event: str, *, min_gap_s: float = 0.0
) -> StreamingResponse:
    sync = sync_of(request)
    with reading(sync.engine).connect() as conn:
        if authenticate(conn, token, now_of(request)) is None:
            raise Unauthenticated(UNKNOWN_TOKEN, invalid_token=True)
    return event_stream(
        request, sync.changes, topic, event, lambda: {"at": _now()}, min_gap_s=min_gap_s
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()
