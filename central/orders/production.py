"""Production orders: one task per routing operation, material reserved, shortages suggested.

A production order's number is the work order the floor scans. Creating one explodes
the item's BOM for its quantity (with scrap allowance), reserves free stock of each
component, lot by lot oldest first, and turns what is missing into a purchase suggestion
(bought components) or a production order for stock (made ones). Releasing it sends it
to the edges of the lines its work centers stand on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.db.domain import (
    bom_lines,
    items,
    operation_tasks,
    production_orders,
    purchase_suggestions,
    reservations,
    routing_operations,
)
from central.orders import inventory
from central.orders.dispatch import edges_of
from central.orders.errors import Conflict, Invalid, NotFound
from central.orders.numbers import next_number

MAX_DEPTH = 8  # levels of made components; deeper means a BOM that contains itself
# A serial-tracked order gets one serial (and one stock row) per piece received: ten
# thousand pumps or motors is a year of a big line, and keeps that bounded.
MAX_SERIALS = 10_000


@dataclass
class Planned:
    """What planning one order created, for the caller to report."""

    production_orders: list[str]
    reserved: list[dict[str, Any]]
    purchase_suggestions: list[dict[str, Any]]


def create(
    conn: Connection,
    item_id: int,
    quantity: float,
    now: datetime,
    *,
    sales_order_line_id: int | None = None,
    due_date: date | None = None,
    priority: int = 0,
    plan: Planned | None = None,
    depth: int = 0,
    parent_id: int | None = None,
    technical_specs: dict[str, Any] | None = None,
) -> str:
    """Create a planned production order with its tasks and material; returns its number."""
    plan = plan if plan is not None else Planned([], [], [])
    if depth > MAX_DEPTH:
        raise Invalid("bom_cycle", f"BOM of item {item_id} nests deeper than {MAX_DEPTH} levels")
    if quantity <= 0:
        raise Invalid("invalid_quantity", "quantity must be positive", "quantity")
    item = conn.execute(select(items).where(items.c.id == item_id)).one()
    if item.kind != "make":
        raise Invalid("not_made", f"item {item.code} is {item.kind}, not made here", "item")
    if item.tracking == "serial" and quantity > MAX_SERIALS:
        raise Invalid(
            "too_many_serials",
            f"item {item.code} is serial-tracked: at most {MAX_SERIALS} pieces per order",
            "quantity",
        )
    ops = conn.execute(
        select(routing_operations)
        .where(routing_operations.c.item_id == item_id)
        .order_by(routing_operations.c.sequence)
    ).all()
    if not ops:
        raise Invalid("no_routing", f"item {item.code} has no routing to make it by", "item")
    number = next_number(conn, "production_order", now)
    order_id = conn.execute(
        insert(production_orders).values(
            number=number,
            sales_order_line_id=sales_order_line_id,
            parent_id=parent_id,
            technical_specs=technical_specs,
            item_id=item_id,
            quantity=quantity,
            status="planned",
            due_date=due_date,
            priority=priority,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    last = ops[-1].sequence
    conn.execute(
        insert(operation_tasks),
        [
            {
                "production_order_id": order_id,
                "work_order": number,
                "operation": op.operation,
                "sequence": op.sequence,
                "last": op.sequence == last,
                "work_center_id": op.work_center_id,
                "quantity": quantity,
                "setup_minutes": op.setup_minutes,
                "run_minutes_per_unit": op.run_minutes_per_unit,
                "crew_size": op.crew_size,
                "inspection_required": op.inspection_required,
                "predecessors": op.predecessors,
                "status": "pending",
            }
            for op in ops
        ],
    )
    plan.production_orders.append(number)
    _material(conn, order_id, number, item_id, quantity, due_date, now, plan, depth)
    return number


def _material(
    conn: Connection,
    order_id: int,
    number: str,
    item_id: int,
    quantity: float,
    due_date: date | None,
    now: datetime,
    plan: Planned,
    depth: int,
) -> None:
    needs: dict[int, float] = {}
    for line in conn.execute(select(bom_lines).where(bom_lines.c.item_id == item_id)):
        need = line.quantity_per_unit * quantity * (1.0 + line.scrap_allowance)
        needs[line.component_id] = needs.get(line.component_id, 0.0) + need
    for component_id, need in needs.items():
        component = conn.execute(select(items).where(items.c.id == component_id)).one()
        # made components are received into finished goods; bought ones sit in stores
        places: tuple[str, ...] = (inventory.FINISHED_GOODS, inventory.STORES)
        if component.kind != "make":
            places = (inventory.STORES,)
        short = need
        for place in places:
            short = reserve(
                conn,
                component_id,
                short,
                now,
                location=place,
                production_order_id=order_id,
                reserved=plan.reserved,
                code=component.code,
            )
        if short <= 1e-9:
            continue
        if component.kind == "make":
            create(
                conn,
                component_id,
                short,
                now,
                due_date=due_date,
                plan=plan,
                depth=depth + 1,
                parent_id=order_id,
            )
        elif component.kind == "buy":
            conn.execute(
                insert(purchase_suggestions).values(
                    item_id=component_id,
                    production_order_id=order_id,
                    quantity=short,
                    needed_by=due_date,
                    status="open",
                    created_at=now,
                )
            )
            plan.purchase_suggestions.append(
                {"item": component.code, "quantity": short, "for": number}
            )


def reserve(
    conn: Connection,
    item_id: int,
    quantity: float,
    now: datetime,
    *,
    location: str = inventory.STORES,
    production_order_id: int | None = None,
    sales_order_line_id: int | None = None,
    reserved: list[dict[str, Any]] | None = None,
    code: str = "",
) -> float:
    """Reserve free stock, oldest lot first; returns what could not be reserved."""
    left = quantity
    for lot, free in inventory.available(conn, item_id, location):
        if left <= 1e-9:
            break
        take = min(free, left)
        conn.execute(
            insert(reservations).values(
                sales_order_line_id=sales_order_line_id,
                production_order_id=production_order_id,
                item_id=item_id,
                lot=lot,
                location=location,
                quantity=take,
                created_at=now,
            )
        )
        if reserved is not None:
            reserved.append({"item": code, "lot": lot, "location": location, "quantity": take})
        left -= take
    return max(0.0, left)


def release(conn: Connection, number: str, now: datetime) -> list[str]:
    """Release a planned order to the floor; returns the edges it goes to."""
    order = conn.execute(
        select(production_orders).where(production_orders.c.number == number)
    ).one_or_none()
    if order is None:
        raise NotFound("production order", number)
    if order.status != "planned":
        raise Conflict("not_planned", f"production order {number} is {order.status}, not planned")
    conn.execute(
        update(production_orders)
        .where(production_orders.c.id == order.id)
        .values(status="released", released_at=now)
    )
    return edges_of(conn, order.id)
