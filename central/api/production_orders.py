"""Production orders (the floor's work orders): their tasks' progress, material, release.

Creating one here makes it for stock; orders for a sales order line come from
confirming the sales order. Releasing one sends the new dispatch lists to the edges of
the lines its operations run on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import Connection, case, func, select

from central.api.deps import Db, Paged, Sync, Write, page_of, writer
from central.api.rows import Body, Code, CodeInPath, Quantity, codes_to_ids, dicts, get, record
from central.auth import PLANNING
from central.db.domain import (
    inspections,
    items,
    material_consumption,
    operation_tasks,
    production_orders,
    purchase_suggestions,
    reservations,
    sales_order_lines,
    sales_orders,
    work_centers,
)
from central.orders import dispatch, production

router = APIRouter(tags=["production orders"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]
P, T, L = production_orders.c, operation_tasks.c, sales_order_lines.c
PARENT = production_orders.alias("parent")
MAX_PRIORITY = 1_000_000  # an integer column on every database

ProductionStatus = Literal["planned", "released", "in_progress", "completed", "closed", "cancelled"]


class NewProductionOrder(Body):
    item: Code
    quantity: Quantity
    due_date: date | None = None
    priority: int = Field(
        0, ge=-MAX_PRIORITY, le=MAX_PRIORITY, description="higher goes first on the floor"
    )


def summary_query() -> Any:
    """Production orders with the sales order line, or the production order (``parent``),
    they make their item for; neither: for stock."""
    return (
        select(
            P.id,
            P.number,
            items.c.code.label("item"),
            P.quantity,
            P.status,
            P.due_date,
            P.release_date,
            P.priority,
            P.planned_start,
            P.planned_end,
            P.released_at,
            P.completed_at,
            P.received,
            sales_orders.c.number.label("sales_order"),
            L.line_no.label("sales_order_line"),
            PARENT.c.number.label("parent"),
        )
        .join(items, items.c.id == P.item_id)
        .outerjoin(PARENT, PARENT.c.id == P.parent_id)
        .outerjoin(sales_order_lines, L.id == P.sales_order_line_id)
        .outerjoin(sales_orders, sales_orders.c.id == L.sales_order_id)
    )


@router.get("/production-orders")
def list_production_orders(
    db: Db,
    page: Paged,
    status: Annotated[list[ProductionStatus] | None, Query()] = None,
    item: Annotated[str | None, Query(max_length=64)] = None,
    sales_order: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Production orders by number, with how far their operations are."""
    query = summary_query().order_by(P.number).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(P.number > page.after)
    if status:
        query = query.where(P.status.in_(status))
    if item is not None:
        query = query.where(
            P.item_id == select(items.c.id).where(items.c.code == item).scalar_subquery()
        )
    if sales_order is not None:
        # by the order's lines, not the outer join: SQLite would scan every order for it
        order_id = select(sales_orders.c.id).where(sales_orders.c.number == sales_order)
        lines = select(L.id).where(L.sales_order_id == order_id.scalar_subquery())
        query = query.where(P.sales_order_line_id.in_(lines))
    with db.connect() as conn:
        rows = conn.execute(query).all()
        progress = _progress(conn, [r.id for r in rows])
    listed = [{**record(r, drop=("id",)), "progress": progress.get(r.id)} for r in rows]
    return page_of(listed, page, "number")


@router.post("/production-orders", status_code=201)
def create_production_order(body: NewProductionOrder, write: PlanningWrite) -> dict[str, Any]:
    """A production order for stock: tasks from the routing, material reserved or suggested."""

    def work(conn: Connection) -> dict[str, Any]:
        item_id = codes_to_ids(conn, items, [body.item], "item", "item")[body.item]
        plan = production.Planned([], [], [])
        number = production.create(
            conn,
            item_id,
            body.quantity,
            write.now,
            due_date=body.due_date,
            priority=body.priority,
            plan=plan,
        )
        return {
            **detail(conn, number),
            "planned": {
                "production_orders": plan.production_orders,
                "reserved": plan.reserved,
                "purchase_suggestions": plan.purchase_suggestions,
            },
        }

    return write(work)


@router.get("/production-orders/{number}")
def production_order(number: CodeInPath, db: Db) -> dict[str, Any]:
    """One order with its tasks, inspections, material consumed by lot, reservations."""
    with db.connect() as conn:
        return detail(conn, number)


@router.post("/production-orders/{number}/release")
def release(number: CodeInPath, write: PlanningWrite, sync: Sync) -> dict[str, Any]:
    """Release a planned order to the floor: its edges get a new dispatch list."""

    def work(conn: Connection) -> dict[str, Any]:
        edges = production.release(conn, number, write.now)
        dispatch.refresh(conn, edges, write.now)
        return {"number": number, "status": "released", "edges": edges}

    result = write(work)
    notify = getattr(sync, "dispatch_changed", None)
    if notify is not None and not write.replayed:
        notify()  # publish now rather than at the dispatcher's next sweep
    return result


def detail(conn: Connection, number: str) -> dict[str, Any]:
    order = get(conn, summary_query().where(P.number == number), "production order", number)
    consumed = conn.execute(
        select(
            material_consumption.c.item,
            material_consumption.c.lot,
            func.sum(material_consumption.c.quantity).label("quantity"),
        )
        .where(material_consumption.c.work_order == number)
        .group_by(material_consumption.c.item, material_consumption.c.lot)
        .order_by(material_consumption.c.item, material_consumption.c.lot)
    )
    checks = conn.execute(
        select(inspections).where(inspections.c.work_order == number).order_by(inspections.c.id)
    )
    suggested = conn.execute(
        select(
            purchase_suggestions.c.id,
            items.c.code.label("item"),
            purchase_suggestions.c.quantity,
            purchase_suggestions.c.needed_by,
            purchase_suggestions.c.status,
        )
        .join(items, items.c.id == purchase_suggestions.c.item_id)
        .where(purchase_suggestions.c.production_order_id == order.id)
        .order_by(purchase_suggestions.c.id)
    )
    return {
        **record(order, drop=("id",)),
        "tasks": tasks_of(conn, [order.id]).get(order.id, []),
        "material_consumed": dicts(consumed),
        "inspections": dicts(checks, drop=("id", "work_order", "edge_id", "seq")),
        "reservations": reservations_of(conn, [], [order.id]),
        "purchase_suggestions": dicts(suggested),
    }


def tasks_of(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The tasks of these production orders in sequence, in one query."""
    rows = conn.execute(
        select(
            T.production_order_id,
            T.operation,
            T.sequence,
            work_centers.c.code.label("work_center"),
            T.status,
            T.quantity,
            T.good,
            T.scrap,
            T.rework,
            T.labour_hours,
            T.inspected,
            T.rejected,
            T.planned_start,
            T.planned_end,
            T.actual_start,
            T.actual_end,
        )
        .join(work_centers, work_centers.c.id == T.work_center_id)
        .where(T.production_order_id.in_(order_ids))
        .order_by(T.production_order_id, T.sequence)
    )
    result: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        task = record(row)
        result.setdefault(task.pop("production_order_id"), []).append(task)
    return result


def reservations_of(
    conn: Connection, line_ids: Sequence[int], order_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Stock reserved for these sales order lines or production orders, in one query."""
    R = reservations.c
    rows = conn.execute(
        select(
            R.id,
            items.c.code.label("item"),
            R.lot,
            R.location,
            R.quantity,
            L.line_no.label("sales_order_line"),
            P.number.label("production_order"),
        )
        .join(items, items.c.id == R.item_id)
        .outerjoin(sales_order_lines, L.id == R.sales_order_line_id)
        .outerjoin(production_orders, P.id == R.production_order_id)
        .where(R.sales_order_line_id.in_(line_ids) | R.production_order_id.in_(order_ids))
        .order_by(R.id)
    )
    return dicts(rows)


def _progress(conn: Connection, order_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Operations done of all, and the last operation's good pieces, per order."""
    rows = conn.execute(
        select(
            T.production_order_id,
            func.count().label("operations"),
            func.sum(case((T.status == "done", 1), else_=0)).label("done"),
            func.sum(case((T.last, T.good), else_=0)).label("good"),
            func.sum(T.scrap).label("scrap"),
        )
        .where(T.production_order_id.in_(order_ids))
        .group_by(T.production_order_id)
    )
    return {
        r.production_order_id: {
            # PostgreSQL sums integers as numeric
            "operations": int(r.operations),
            "operations_done": int(r.done),
            "good": int(r.good),
            "scrap": int(r.scrap),
        }
        for r in rows
    }
