"""What both genealogy walks look up: the orders that made lots, bought lots, shipments.

Every read is an indexed IN list of work orders or lots (``rows_in``), a bounded chunk at
a time, so a walk costs one small query per table and level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Select, and_, select

from central.db.domain import (
    customers,
    items,
    material_consumption,
    production_orders,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
    stock_moves,
)

__all__ = [
    "MAX_DEPTH",
    "ORDERS",
    "SUMMARY",
    "bought",
    "item_of",
    "made_lots",
    "order_summary",
    "rows_in",
    "shipment",
    "shipped_lines",
    "unknown_item",
]

MAX_DEPTH = 8  # levels of made lots followed below (backward) or above (forward) the lot asked
_CHUNK = 500  # IN-list length: well inside SQLite's bound-parameter limit
_SERIAL = re.compile(r"(.+)-(\d{4,})")  # progress._lots: f"{work order}-{n:04d}"

P, MC, SM = production_orders.c, material_consumption.c, stock_moves.c
_PARENT = production_orders.alias("parent")
ORDERS = (
    select(
        P.id,
        P.number,
        P.item_id,
        P.quantity,
        P.received,
        P.status,
        P.completed_at,
        P.sales_order_line_id,
        items.c.code.label("item"),
        items.c.description,
        items.c.tracking,
        items.c.unit,
        _PARENT.c.number.label("parent_work_order"),
        sales_order_lines.c.line_no,
        sales_orders.c.number.label("sales_order"),
        customers.c.code.label("customer"),
        customers.c.name.label("customer_name"),
    )
    .join(items, items.c.id == P.item_id)
    .outerjoin(_PARENT, _PARENT.c.id == P.parent_id)
    .outerjoin(sales_order_lines, sales_order_lines.c.id == P.sales_order_line_id)
    .outerjoin(sales_orders, sales_orders.c.id == sales_order_lines.c.sales_order_id)
    .outerjoin(customers, customers.c.id == sales_orders.c.customer_id)
)

SL = shipment_lines.c
_SHIPPED = (
    select(
        SL.id,
        SL.lot,
        SL.quantity,
        SL.sales_order_line_id,
        shipments.c.number.label("shipment"),
        shipments.c.shipped_at,
        shipments.c.carrier,
        shipments.c.tracking,
        sales_orders.c.number.label("sales_order"),
        customers.c.code.label("customer"),
        customers.c.name.label("customer_name"),
        items.c.code.label("item"),
    )
    .select_from(shipment_lines)
    .join(shipments, shipments.c.id == SL.shipment_id)
    .join(sales_orders, sales_orders.c.id == shipments.c.sales_order_id)
    .join(customers, customers.c.id == sales_orders.c.customer_id)
    .join(items, items.c.id == SL.item_id)
)


def rows_in(
    conn: Connection, query: Select[Any], column: Any, keys: Iterable[Any]
) -> Iterator[Any]:
    """``query`` where ``column`` is one of ``keys``, a bounded IN list at a time."""
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), _CHUNK):
        yield from conn.execute(query.where(column.in_(ordered[start : start + _CHUNK])))


def made_lots(conn: Connection, lots: Iterable[str]) -> dict[str, Any]:
    """The production order (an ``ORDERS`` row) that made each of ``lots`` made here."""
    lots = set(lots)
    prefix = {lot: m.group(1) for lot in lots if (m := _SERIAL.fullmatch(lot))}
    orders = {o.number: o for o in rows_in(conn, ORDERS, P.number, lots | set(prefix.values()))}
    made: dict[str, Any] = {}
    for lot in lots:
        if lot in orders:
            made[lot] = orders[lot]
        elif lot in prefix and (order := orders.get(prefix[lot])) is not None:
            n = int(lot.rsplit("-", 1)[1])
            if order.tracking == "serial" and 1 <= n <= max(order.received, order.quantity):
                made[lot] = order
    return made


SUMMARY = (
    "item",
    "description",
    "tracking",
    "unit",
    "quantity",
    "received",
    "status",
    "made_for",
    "parent_work_order",
)


def order_summary(order: Any) -> dict[str, Any]:
    """What an order makes and for whom (the keys of ``SUMMARY``)."""
    made_for = None
    if order.sales_order is not None:
        made_for = {
            "sales_order": order.sales_order,
            "line_no": order.line_no,
            "customer": {"code": order.customer, "name": order.customer_name},
        }
    return {
        "item": order.item,
        "description": order.description,
        "tracking": order.tracking,
        "unit": order.unit,
        "quantity": order.quantity,
        "received": order.received,
        "status": order.status,
        "made_for": made_for,
        "parent_work_order": order.parent_work_order,
    }


def item_of(row: Any) -> dict[str, Any]:
    """An item as a trace shows it, from an ``ORDERS`` row or a row of ``items``."""
    code = row.item if "item" in row._fields else row.code
    return {
        "code": code,
        "description": row.description,
        "tracking": row.tracking,
        "unit": row.unit,
    }


def unknown_item(code: str) -> dict[str, Any]:
    return {"code": code, "description": None, "tracking": None, "unit": None}


def bought(conn: Connection, lot: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The item of a lot not made here (None: unknown), and the purchases that brought it in."""
    I = items.c  # noqa: E741
    # items lead: each is an indexed (item_id, lot) lookup in the ledger, never a scan of it
    columns = (I.code, I.description, I.tracking, I.unit)
    moves = conn.execute(
        select(*columns, SM.reason, SM.reference, SM.quantity, SM.at)
        .select_from(items)
        .join(stock_moves, and_(SM.item_id == I.id, SM.lot == lot, SM.reason == "purchase"))
        .order_by(SM.at, SM.id)
    ).all()
    purchases = [{"reference": m.reference, "quantity": m.quantity, "at": m.at} for m in moves]
    if moves:
        return item_of(moves[0]), purchases
    first = conn.execute(
        select(*columns)
        .select_from(items)
        .join(stock_moves, and_(SM.item_id == I.id, SM.lot == lot))
        .limit(1)
    ).first()
    if first is not None:
        return item_of(first), []
    used = conn.execute(select(MC.item).where(MC.lot == lot).limit(1)).scalar()
    if used is None:
        return None, []
    known = conn.execute(select(*columns).where(I.code == used)).first()
    return (item_of(known) if known is not None else unknown_item(used)), []


def shipped_lines(conn: Connection, lots: set[str], lines: Iterable[int] = ()) -> list[Any]:
    """Shipment lines of ``lots``, and the lot-less lines of untracked goods on ``lines``."""
    found = {s.id: s for s in rows_in(conn, _SHIPPED, SL.lot, lots)}
    untracked = _SHIPPED.where(SL.lot == "")
    found.update((s.id, s) for s in rows_in(conn, untracked, SL.sales_order_line_id, lines))
    return sorted(found.values(), key=lambda s: (s.shipped_at, s.shipment, s.id))


def shipment(row: Any) -> dict[str, Any]:
    """A ``shipped_lines`` row as a trace shows it."""
    return {
        "shipment": row.shipment,
        "shipped_at": row.shipped_at,
        "sales_order": row.sales_order,
        "customer": {"code": row.customer, "name": row.customer_name},
        "item": row.item,
        "lot": row.lot,
        "quantity": row.quantity,
        "carrier": row.carrier,
        "tracking": row.tracking,
    }
