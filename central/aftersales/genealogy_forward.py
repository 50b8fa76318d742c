"""Forward genealogy: where a lot went, up through the orders that consumed it, to the
customers who received any of it (the recall list) and what of it is still on hand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from central.aftersales.genealogy_lookups import (
    MAX_DEPTH,
    ORDERS,
    SUMMARY,
    bought,
    item_of,
    made_lots,
    order_summary,
    rows_in,
    shipment,
    shipped_lines,
    unknown_item,
)
from central.db.domain import material_consumption, production_orders, stock
from central.orders.errors import NotFound

__all__ = ["forward"]

P, MC = production_orders.c, material_consumption.c

# which work orders consumed which lots, and how much
_USES = select(
    MC.work_order,
    MC.lot,
    MC.item,
    func.sum(MC.quantity).label("quantity"),
    func.min(MC.at).label("at"),
).group_by(MC.work_order, MC.lot, MC.item)


def forward(conn: Connection, lot: str) -> dict[str, Any]:
    """Where ``lot`` went: the orders that consumed it, the lots they made, up through the
    parents of made components, the shipments of all of them and who received them.

    ``{lot, item, production_order, work_orders, lots, shipments, customers, totals,
    truncated}``: ``lots`` are the affected finished lots and serials with what of each
    was shipped and is still on hand; ``customers`` is the recall list.
    """
    made = made_lots(conn, {lot})
    own = made.get(lot)
    item = item_of(own) if own is not None else bought(conn, lot)[0]
    orders: dict[str, dict[str, Any]] = {}
    produced: dict[str, dict[str, Any]] = {}  # finished lot or serial -> its row
    item_ids: dict[str, int] = {}
    lines: dict[int, str] = {}  # order line -> the untracked work order made for it
    if own is not None:
        produced[lot] = _lot_row(lot, own, 0)
        item_ids[lot] = own.item_id
    seen, frontier = {lot}, {lot}
    truncated = False
    for level in range(1, MAX_DEPTH + 2):
        uses = list(rows_in(conn, _USES, MC.lot, frontier))
        if level > MAX_DEPTH:
            truncated = bool(uses)
            break
        for use in uses:
            entry = orders.setdefault(
                use.work_order, {"work_order": use.work_order, "level": level, "consumed": []}
            )
            entry["consumed"].append(
                {"lot": use.lot, "item": use.item, "quantity": use.quantity, "at": use.at}
            )
        fresh = {u.work_order for u in uses if orders[u.work_order]["level"] == level}
        frontier = set()
        for order in rows_in(conn, ORDERS, P.number, fresh):
            entry = orders[order.number]
            entry.update(order_summary(order), lots=_finished_lots(order))
            for made_lot in entry["lots"]:
                produced[made_lot] = _lot_row(made_lot, order, level)
                item_ids[made_lot] = order.item_id
            if order.tracking == "none" and order.sales_order_line_id is not None:
                lines[order.sales_order_line_id] = order.number
            # a component may be issued under its work order number, whatever its tracking
            frontier.update({*entry["lots"], order.number})
        frontier -= seen
        seen |= frontier
        if not frontier:
            break
    if item is None and not orders and own is None:
        shipped_rows = shipped_lines(conn, {lot})
        if not shipped_rows:
            raise NotFound("lot", lot)
        item = unknown_item(shipped_rows[0].item)
    else:
        shipped_rows = shipped_lines(conn, {lot, *produced}, list(lines))
    shipped = []
    for row in shipped_rows:
        finished = produced.get(row.lot)
        if finished is not None:
            finished["shipped"] += row.quantity
        work_order = finished["work_order"] if finished else lines.get(row.sales_order_line_id)
        shipped.append({**shipment(row), "work_order": work_order})
    _on_hand(conn, produced, item_ids)
    for entry in orders.values():
        if "item" not in entry:  # a work order central does not know consumed it
            entry.update(dict.fromkeys(SUMMARY), lots=[])
    recall = _customers(shipped)
    return {
        "lot": lot,
        "item": item,
        "production_order": own.number if own is not None else None,
        "work_orders": sorted(orders.values(), key=lambda o: (o["level"], o["work_order"])),
        "lots": sorted(produced.values(), key=lambda r: (r["level"], r["lot"])),
        "shipments": shipped,
        "customers": recall,
        "totals": {
            "work_orders": len(orders),
            "lots": len(produced),
            "shipments": len({s["shipment"] for s in shipped}),
            "customers": len(recall),
            "shipped": sum(s["quantity"] for s in shipped),
            "on_hand": sum(r["on_hand"] for r in produced.values()),
        },
        "truncated": truncated,
    }


def _finished_lots(order: Any) -> list[str]:
    """The lots or serials an order's received goods carry (untracked goods carry none)."""
    if order.tracking == "serial":
        return [f"{order.number}-{n:04d}" for n in range(1, int(order.received) + 1)]
    return [order.number] if order.tracking == "lot" and order.received > 0 else []


def _lot_row(lot: str, order: Any, level: int) -> dict[str, Any]:
    return {
        "lot": lot,
        "item": order.item,
        "description": order.description,
        "work_order": order.number,
        "level": level,
        "serial": order.tracking == "serial",
        "shipped": 0.0,
        "on_hand": 0.0,
    }


def _on_hand(conn: Connection, produced: dict[str, dict[str, Any]], ids: dict[str, int]) -> None:
    """Fill in what of each produced lot is still in stock (to quarantine in a recall)."""
    if not produced:
        return
    query = (
        select(stock.c.item_id, stock.c.lot, func.sum(stock.c.quantity).label("quantity"))
        .where(stock.c.item_id.in_(set(ids.values())))
        .group_by(stock.c.item_id, stock.c.lot)
    )
    for row in rows_in(conn, query, stock.c.lot, produced):
        if ids.get(row.lot) == row.item_id:
            produced[row.lot]["on_hand"] = row.quantity


def _customers(shipped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recall list: each customer who received any of it, with what and how much."""
    by_code: dict[str, dict[str, Any]] = {}
    for s in shipped:
        c = s["customer"]
        entry = by_code.setdefault(
            c["code"],
            {"code": c["code"], "name": c["name"], "shipments": [], "lots": [], "quantity": 0.0},
        )
        if s["shipment"] not in entry["shipments"]:
            entry["shipments"].append(s["shipment"])
        if s["lot"] not in entry["lots"]:
            entry["lots"].append(s["lot"])
        entry["quantity"] += s["quantity"]
    return [by_code[code] for code in sorted(by_code)]
