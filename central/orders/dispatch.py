"""What each line's edge is told: its dispatch list and the master data its stations check.

Building is pure reading; ``refresh`` stores the result for each edge with the next
version in the ``dispatches`` table, in the caller's transaction, marked unpublished.
The MQTT side (central.service) publishes unpublished rows as retained commands after
the commit, and all of them again on every reconnect: the edge keeps the newest
version only, so a replay is harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from central.db.domain import (
    bom_lines,
    defect_codes,
    dispatches,
    items,
    operation_tasks,
    operators,
    production_orders,
    routing_operations,
    work_centers,
)
from central.db.upsert import upsert
from protocols.contract import DispatchList, MasterData

ACTIVE = ("released", "in_progress")


def edges_of(conn: Connection, production_order_id: int) -> list[str]:
    """The edges whose work centers run an operation of this order."""
    rows = conn.execute(
        select(work_centers.c.edge_id)
        .join(operation_tasks, operation_tasks.c.work_center_id == work_centers.c.id)
        .where(
            operation_tasks.c.production_order_id == production_order_id,
            work_centers.c.edge_id.is_not(None),
        )
        .distinct()
    ).scalars()
    return sorted(rows)


def dispatch_list(conn: Connection, edge_id: str) -> dict[str, Any]:
    """Released and running orders with operations at this edge, in planned sequence."""
    rows = conn.execute(
        select(
            production_orders.c.number,
            production_orders.c.quantity,
            production_orders.c.due_date,
            production_orders.c.priority,
            production_orders.c.planned_start.label("order_start"),
            items.c.code.label("item"),
            operation_tasks.c.operation,
            operation_tasks.c.sequence,
            operation_tasks.c.planned_start,
            operation_tasks.c.planned_end,
            operation_tasks.c.quantity.label("op_quantity"),
            operation_tasks.c.status.label("op_status"),
            operation_tasks.c.good.label("op_good"),
            work_centers.c.code.label("work_center"),
            work_centers.c.stations,
        )
        .join(operation_tasks, operation_tasks.c.production_order_id == production_orders.c.id)
        .join(work_centers, work_centers.c.id == operation_tasks.c.work_center_id)
        .join(items, items.c.id == production_orders.c.item_id)
        .where(production_orders.c.status.in_(ACTIVE), work_centers.c.edge_id == edge_id)
    ).all()
    orders: dict[str, dict[str, Any]] = {}
    keys: dict[str, tuple[Any, ...]] = {}
    for r in sorted(rows, key=lambda r: (r.number, r.sequence)):
        order = orders.get(r.number)
        if order is None:
            order = orders[r.number] = {
                "work_order": r.number,
                "item": r.item,
                "quantity": r.quantity,
                "due": r.due_date.isoformat() if r.due_date else None,
                "operations": [],
            }
            # Priority first, then planned start, due date and number: the floor's queue.
            keys[r.number] = (
                -r.priority,
                r.order_start.isoformat() if r.order_start else "9999",
                r.due_date.isoformat() if r.due_date else "9999",
                r.number,
            )
        operation: dict[str, Any] = {
            "operation": r.operation,
            "work_center": r.work_center,
            "stations": list(r.stations),
            "quantity": r.op_quantity,
            "status": r.op_status,
            "good": int(r.op_good),
        }
        if r.planned_start:
            operation["planned_start"] = r.planned_start.isoformat()
        if r.planned_end:
            operation["planned_end"] = r.planned_end.isoformat()
        order["operations"].append(operation)
    ranked = sorted(orders, key=keys.__getitem__)
    body = {
        "orders": [{**orders[n], "sequence": i} for i, n in enumerate(ranked, start=1)],
    }
    return DispatchList.model_validate(body).model_dump(mode="json", exclude_none=True)


def master_data(conn: Connection, work_orders: list[str]) -> dict[str, Any]:
    """Items, BOMs and routings of these orders' items, all defect codes and operators."""
    made = set(
        conn.execute(
            select(production_orders.c.item_id).where(production_orders.c.number.in_(work_orders))
        ).scalars()
    )
    bom = conn.execute(
        select(bom_lines, items.c.code.label("component"))
        .join(items, items.c.id == bom_lines.c.component_id)
        .where(bom_lines.c.item_id.in_(made))
    ).all()
    wanted = made | {line.component_id for line in bom}
    item_rows = conn.execute(select(items).where(items.c.id.in_(wanted))).all()
    code = {row.id: row.code for row in item_rows}
    routes = conn.execute(
        select(routing_operations, work_centers.c.code.label("work_center"))
        .join(work_centers, work_centers.c.id == routing_operations.c.work_center_id)
        .where(routing_operations.c.item_id.in_(made))
        .order_by(routing_operations.c.item_id, routing_operations.c.sequence)
    ).all()
    body = {
        "items": [
            {
                "item": row.code,
                "description": row.description,
                "unit": row.unit,
                "tracking": row.tracking,
                **({"gtin": row.gtin} if row.gtin else {}),
            }
            for row in sorted(item_rows, key=lambda r: r.code)
        ],
        "bom": [
            {
                "item": code[line.item_id],
                "operation": line.operation,
                "component": line.component,
                "quantity_per_unit": line.quantity_per_unit,
                "scrap_allowance": line.scrap_allowance,
                "issue_tolerance": line.issue_tolerance,
            }
            for line in bom
        ],
        "routings": [
            {
                "item": code[op.item_id],
                "operation": op.operation,
                "sequence": op.sequence,
                "description": op.description,
                "work_center": op.work_center,
                "crew_size": op.crew_size,
                "inspection_required": op.inspection_required,
                "setup_minutes": op.setup_minutes,
                "run_minutes_per_unit": op.run_minutes_per_unit,
            }
            for op in routes
        ],
        "defect_codes": [
            {"code": row.code, "description": row.description}
            for row in conn.execute(select(defect_codes).order_by(defect_codes.c.code))
        ],
        "operators": [
            {"badge": row.badge, "name": row.name, "skills": list(row.skills)}
            for row in conn.execute(select(operators).order_by(operators.c.badge))
        ],
    }
    return MasterData.model_validate(body).model_dump(mode="json")


def refresh(conn: Connection, edge_ids: list[str], now: datetime) -> None:
    """Store a new version of each edge's dispatch list and master data, to be published."""
    for edge_id in edge_ids:
        listing = dispatch_list(conn, edge_id)
        data = master_data(conn, [o["work_order"] for o in listing["orders"]])
        for command, body in (("dispatch_list", listing), ("master_data", data)):
            current = conn.execute(
                # locked: a release and an order finishing on the floor at once must not
                # both write the next version with different bodies (PostgreSQL)
                select(dispatches.c.version, dispatches.c.body)
                .where(dispatches.c.edge_id == edge_id, dispatches.c.command == command)
                .with_for_update()
            ).first()
            if current is not None and current.body == body:
                continue  # nothing changed for this edge
            version = (current.version if current else 0) + 1
            row = {
                "edge_id": edge_id,
                "command": command,
                "version": version,
                "issued_at": now,
                "body": body,
                "published": False,
            }
            upsert(conn, dispatches, [row], replace=("version", "issued_at", "body", "published"))


def current(conn: Connection) -> list[Any]:
    return list(conn.execute(select(dispatches)))


def unpublished(conn: Connection) -> list[Any]:
    return list(conn.execute(select(dispatches).where(dispatches.c.published.is_(False))))


def mark_published(conn: Connection, edge_id: str, command: str, version: int) -> None:
    conn.execute(
        update(dispatches)
        .where(
            dispatches.c.edge_id == edge_id,
            dispatches.c.command == command,
            dispatches.c.version == version,
        )
        .values(published=True)
    )
