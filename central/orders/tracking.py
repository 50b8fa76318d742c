"""How far sales orders are, line by line, as a customer or their account manager asks it.

A line's progress is the larger of what has shipped or waits for it in stock (reserved to
it: made for it and received, or taken from stock), and the share of its production work
done: each operation's good pieces (up to its quantity)
weighted by its run time per piece, over all operations of the production orders made
for the line (components included). A line made from stock is 0 until it is received.

A line's expected ship date: when it shipped, its last shipment; when all of it is ready,
today; otherwise the latest predicted finish of its production orders (the replanner's,
from the floor's pace), else their planned finish, else the line's due date, and never
before today. "At risk" is an expected date after the due date (so an overdue line that
has not shipped is at risk).

Everything is fetched per set of orders (a query per table, never per order), so a page
of 20 orders costs the same few queries as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from central.db.domain import (
    items,
    operation_tasks,
    production_orders,
    reservations,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
    work_centers,
)

L, P, T = sales_order_lines.c, production_orders.c, operation_tasks.c
MAX_DEPTH = 8


def orders_progress(
    conn: Connection, order_ids: Sequence[int], today: date, *, operations: bool = True
) -> dict[int, dict[str, Any]]:
    """Per sales order id: its ``lines`` with progress and expected ship date, overall
    ``progress``, ``expected_ship`` and ``at_risk``. ``operations`` adds each line's
    operations (work center, status, good of quantity)."""
    if not order_ids:
        return {}
    lines = conn.execute(
        select(
            L.id,
            L.sales_order_id,
            L.line_no,
            items.c.code.label("item"),
            items.c.description,
            items.c.kind,
            L.quantity,
            L.produced,
            L.shipped,
            func.coalesce(L.due_date, sales_orders.c.due_date).label("due_date"),
        )
        .join(items, items.c.id == L.item_id)
        .join(sales_orders, sales_orders.c.id == L.sales_order_id)
        .where(L.sales_order_id.in_(order_ids))
        .order_by(L.sales_order_id, L.line_no)
    ).all()
    orders_of_line = _production_orders(conn, [line.id for line in lines])
    all_orders = {po for pos in orders_of_line.values() for po in pos}
    tasks = _tasks(conn, sorted(all_orders), with_operations=operations)
    ends = _ends(conn, sorted(all_orders))
    line_ids = [line.id for line in lines]
    last_shipped = _last_shipments(conn, line_ids)
    reserved = _reserved(conn, line_ids)

    result: dict[int, dict[str, Any]] = {
        order_id: {"lines": [], "progress": 0.0, "expected_ship": None, "at_risk": False}
        for order_id in order_ids
    }
    for line in lines:
        pos = orders_of_line.get(line.id, [])
        work = sum(tasks[po]["work"] for po in pos if po in tasks)
        done = sum(tasks[po]["done"] for po in pos if po in tasks)
        # finished goods waiting for the line (made for it, or taken from stock) are reserved
        # to it until they ship: ready is what shipped plus what is reserved
        ready = line.shipped + reserved.get(line.id, 0.0)
        share = max(
            ready / line.quantity,
            line.produced / line.quantity,
            done / work if work else 0.0,
        )
        if line.kind == "service":  # nothing to make: done when billed with a shipment
            ready = line.shipped
            share = ready / line.quantity
        ends_of_line = [ends[po] for po in pos if po in ends]
        expected = _expected(line, ready, ends_of_line, last_shipped.get(line.id), today)
        due = line.due_date
        entry: dict[str, Any] = {
            "line_no": line.line_no,
            "item": line.item,
            "description": line.description,
            "quantity": line.quantity,
            "produced": line.produced,
            "shipped": line.shipped,
            "progress": round(min(share, 1.0), 4),
            "due_date": due,
            "expected_ship": expected,
            "at_risk": bool(due and expected and expected > due and line.shipped < line.quantity),
        }
        if operations:
            entry["operations"] = [op for po in pos for op in tasks.get(po, {}).get("ops", [])]
        result[line.sales_order_id]["lines"].append(entry)
    for summary in result.values():
        rows = summary["lines"]
        if rows:
            summary["progress"] = round(sum(r["progress"] for r in rows) / len(rows), 4)
            dates = [r["expected_ship"] for r in rows if r["expected_ship"]]
            summary["expected_ship"] = max(dates) if dates else None
            summary["at_risk"] = any(r["at_risk"] for r in rows)
    return result


def _production_orders(conn: Connection, line_ids: list[int]) -> dict[int, list[int]]:
    """Production order ids per line: those made for it and, level by level, their components'."""
    found: dict[int, list[int]] = {}
    level = conn.execute(
        select(P.id, P.sales_order_line_id).where(
            P.sales_order_line_id.in_(line_ids), P.status != "cancelled"
        )
    ).all()
    line_of = {row.id: row.sales_order_line_id for row in level}
    depth = 0
    while level and depth <= MAX_DEPTH:
        for row in level:
            found.setdefault(line_of[row.id], []).append(row.id)
        level = conn.execute(
            select(P.id, P.parent_id).where(
                P.parent_id.in_([row.id for row in level]), P.status != "cancelled"
            )
        ).all()
        for row in level:
            line_of[row.id] = line_of[row.parent_id]
        depth += 1
    return found


def _tasks(
    conn: Connection, order_ids: list[int], *, with_operations: bool
) -> dict[int, dict[str, Any]]:
    """Per production order: work in piece-minutes, the share of it done, its operations."""
    if not order_ids:
        return {}
    rows = conn.execute(
        select(
            T.production_order_id,
            T.work_order,
            T.operation,
            work_centers.c.code.label("work_center"),
            T.status,
            T.quantity,
            T.good,
            T.run_minutes_per_unit,
        )
        .join(work_centers, work_centers.c.id == T.work_center_id)
        .where(T.production_order_id.in_(order_ids))
        .order_by(T.production_order_id, T.sequence)
    )
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        entry = out.setdefault(r.production_order_id, {"work": 0.0, "done": 0.0, "ops": []})
        weight = max(r.run_minutes_per_unit, 1e-6)  # an operation with no run time still counts
        entry["work"] += r.quantity * weight
        entry["done"] += (r.quantity if r.status == "done" else min(r.good, r.quantity)) * weight
        if with_operations:
            entry["ops"].append(
                {
                    "work_order": r.work_order,
                    "operation": r.operation,
                    "work_center": r.work_center,
                    "status": r.status,
                    "good": r.good,
                    "quantity": r.quantity,
                }
            )
    return out


def _ends(conn: Connection, order_ids: list[int]) -> dict[int, datetime | None]:
    """The predicted finish of each open production order, else its planned finish."""
    if not order_ids:
        return {}
    rows = conn.execute(
        select(P.id, P.status, P.predicted_end, P.planned_end, P.completed_at).where(
            P.id.in_(order_ids)
        )
    )
    return {
        r.id: r.completed_at
        if r.status in ("completed", "closed")
        else r.predicted_end or r.planned_end
        for r in rows
    }


def _last_shipments(conn: Connection, line_ids: Sequence[int]) -> dict[int, datetime]:
    """When each line last shipped."""
    rows = conn.execute(
        select(shipment_lines.c.sales_order_line_id, func.max(shipments.c.shipped_at))
        .join(shipments, shipments.c.id == shipment_lines.c.shipment_id)
        .where(shipment_lines.c.sales_order_line_id.in_(line_ids))
        .group_by(shipment_lines.c.sales_order_line_id)
    )
    return {line_id: at for line_id, at in rows if at is not None}


def _reserved(conn: Connection, line_ids: Sequence[int]) -> dict[int, float]:
    rows = conn.execute(
        select(reservations.c.sales_order_line_id, func.sum(reservations.c.quantity))
        .where(reservations.c.sales_order_line_id.in_(line_ids))
        .group_by(reservations.c.sales_order_line_id)
    )
    return {line_id: float(quantity) for line_id, quantity in rows}


def _expected(
    line: Any, ready: float, ends: list[datetime | None], shipped: datetime | None, today: date
) -> date | None:
    """When the line ships: done once shipped; never before today while it has not."""
    if line.shipped >= line.quantity and shipped is not None:
        return _day(shipped)
    if ready >= line.quantity:
        return today
    known = [end for end in ends if end is not None]
    if known:
        return max(today, *(_day(end) for end in known))
    due: date | None = line.due_date
    return None if due is None else max(due, today)


def _day(moment: datetime) -> date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date()
