"""Shipments and receivables: finished goods leave, an invoice is raised, payments settle it.

Service lines are billed with the order's first shipment; an order of services only is
billed by "shipping" it (a shipment without goods, which raises the invoice). A shipment
takes the goods reserved for the order's lines (finished goods the floor's
receipts reserve, bought goods reserved in stores at confirmation), lot by lot oldest
first, moves them out of stock and raises one invoice for what was shipped, due after
the customer's payment terms. A held order ships nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.db.domain import (
    customers,
    invoices,
    items,
    payments,
    reservations,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
)
from central.orders import inventory
from central.orders.errors import Conflict, Invalid, NotFound
from central.orders.numbers import next_number

SHIPPABLE = ("confirmed", "in_production", "ready")


def ship(
    conn: Connection,
    order_number: str,
    now: datetime,
    *,
    lines: list[dict[str, Any]] | None = None,
    carrier: str | None = None,
    tracking: str | None = None,
) -> dict[str, Any]:
    """Ship ``lines`` (``{line_no, quantity}``), or everything ready; returns the shipment."""
    order = conn.execute(
        # locked: two shipments of one order at once would both take the same goods
        select(sales_orders).where(sales_orders.c.number == order_number).with_for_update()
    ).one_or_none()
    if order is None:
        raise NotFound("sales order", order_number)
    if lines is not None:
        if not lines:
            raise Invalid(
                "no_lines", "name at least one line, or leave lines out to ship all", "lines"
            )
        numbers = [int(x["line_no"]) for x in lines]
        if len(set(numbers)) != len(numbers):
            raise Invalid("duplicate_line", "each line_no may be named once", "lines")
    if order.status == "held":
        raise Conflict("credit_hold", f"sales order {order_number} is held: {order.hold_reason}")
    if order.status not in SHIPPABLE:
        raise Conflict("not_shippable", f"sales order {order_number} is {order.status}")
    order_lines = {
        row.line_no: row
        for row in conn.execute(
            select(sales_order_lines, items.c.kind, items.c.code)
            .join(items, items.c.id == sales_order_lines.c.item_id)
            .where(sales_order_lines.c.sales_order_id == order.id)
        )
    }
    wanted: dict[int, float | None] = (
        {int(x["line_no"]): float(x["quantity"]) for x in lines}
        if lines
        else dict.fromkeys(order_lines)
    )
    # service lines are billed with the order's first shipment (or on their own)
    services = [
        line
        for line in order_lines.values()
        if line.kind == "service" and line.shipped < line.quantity
    ]
    number = next_number(conn, "shipment", now)
    moves: list[inventory.Move] = []
    picked: list[dict[str, Any]] = []
    amount = 0
    for service in services:
        conn.execute(
            update(sales_order_lines)
            .where(sales_order_lines.c.id == service.id)
            .values(shipped=service.quantity)
        )
        amount += _billed(
            service.shipped, service.quantity - service.shipped, service.unit_price_cents
        )
    for line_no, quantity in wanted.items():
        line = order_lines.get(line_no)
        if line is None:
            raise Invalid("unknown_line", f"order {order_number} has no line {line_no}", "lines")
        if line.kind == "service":
            continue
        open_qty = line.quantity - line.shipped
        want = open_qty if quantity is None else quantity
        if want > open_qty + 1e-9:
            raise Invalid(
                "over_shipment",
                f"line {line_no} has {open_qty:g} left to ship, not {want:g}",
                "lines",
            )
        reserved = conn.execute(
            select(reservations)
            .where(reservations.c.sales_order_line_id == line.id)
            .order_by(reservations.c.lot, reservations.c.id)
        ).all()
        left = want
        for res, take in inventory.take_reserved(conn, list(reserved), want):
            left -= take
            moves.append(
                inventory.Move(
                    line.item_id, res.lot, take, "shipment", number, from_location=res.location
                )
            )
            picked.append(
                {
                    "line_id": line.id,
                    "item_id": line.item_id,
                    "lot": res.lot,
                    "quantity": take,
                    "line_no": line_no,
                    "item": line.code,
                }
            )
        shipped = want - left
        if quantity is not None and left > 1e-9:
            raise Conflict(
                "not_in_stock",
                f"line {line_no}: only {shipped:g} of {want:g} {line.code} ready to ship",
                "lines",
            )
        if shipped > 0:
            conn.execute(
                update(sales_order_lines)
                .where(sales_order_lines.c.id == line.id)
                .values(shipped=sales_order_lines.c.shipped + shipped)
            )
            amount += _billed(line.shipped, shipped, line.unit_price_cents)
    if not picked and not services:
        raise Conflict("nothing_to_ship", f"sales order {order_number} has nothing ready to ship")
    shipment_id = conn.execute(
        insert(shipments).values(
            number=number,
            sales_order_id=order.id,
            shipped_at=now,
            carrier=carrier,
            tracking=tracking,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    if picked:
        conn.execute(
            insert(shipment_lines),
            [
                {
                    "shipment_id": shipment_id,
                    "sales_order_line_id": p["line_id"],
                    "item_id": p["item_id"],
                    "lot": p["lot"],
                    "quantity": p["quantity"],
                }
                for p in picked
            ],
        )
    inventory.book(conn, moves, now)
    terms = conn.execute(
        select(customers.c.payment_terms_days).where(customers.c.id == order.customer_id)
    ).scalar_one()
    invoice = next_number(conn, "invoice", now)
    conn.execute(
        insert(invoices).values(
            number=invoice,
            customer_id=order.customer_id,
            sales_order_id=order.id,
            shipment_id=shipment_id,
            amount_cents=amount,
            paid_cents=0,
            issued_at=now,
            due_date=(now + timedelta(days=terms)).date(),
            status="open" if amount > 0 else "paid",
        )
    )
    remaining = conn.execute(
        select(sales_order_lines.c.quantity - sales_order_lines.c.shipped)
        .join(items, items.c.id == sales_order_lines.c.item_id)
        .where(sales_order_lines.c.sales_order_id == order.id)
    ).scalars()
    if all(r <= 1e-9 for r in remaining):
        conn.execute(
            update(sales_orders).where(sales_orders.c.id == order.id).values(status="shipped")
        )
    return {
        "number": number,
        "order": order_number,
        "invoice": invoice,
        "amount_cents": amount,
        "lines": [
            {"line_no": p["line_no"], "item": p["item"], "lot": p["lot"], "quantity": p["quantity"]}
            for p in picked
        ],
    }


def _billed(before: float, quantity: float, unit_price_cents: int) -> int:
    """Cents for ``quantity`` more of a line: rounded on the line's running total, so
    partial shipments add up to exactly what the whole line is worth."""
    return round((before + quantity) * unit_price_cents) - round(before * unit_price_cents)


def pay(
    conn: Connection, invoice_number: str, amount_cents: int, now: datetime, reference: str | None
) -> dict[str, Any]:
    """Record a payment against an invoice; settled in full, the invoice is paid."""
    invoice = conn.execute(
        select(invoices).where(invoices.c.number == invoice_number).with_for_update()
    ).one_or_none()
    if invoice is None:
        raise NotFound("invoice", invoice_number)
    if amount_cents <= 0:
        raise Invalid("invalid_amount", "a payment must be positive", "amount_cents")
    open_cents = invoice.amount_cents - invoice.paid_cents
    if invoice.status != "open":
        raise Conflict("not_open", f"invoice {invoice_number} is {invoice.status}")
    if amount_cents > open_cents:
        raise Conflict(
            "overpayment",
            f"invoice {invoice_number} has {open_cents / 100:.2f} open",
            "amount_cents",
        )
    conn.execute(
        insert(payments).values(
            invoice_id=invoice.id, amount_cents=amount_cents, received_at=now, reference=reference
        )
    )
    paid = invoice.paid_cents + amount_cents
    status = "paid" if paid >= invoice.amount_cents else "open"
    conn.execute(
        update(invoices).where(invoices.c.id == invoice.id).values(paid_cents=paid, status=status)
    )
    return {"invoice": invoice_number, "paid_cents": paid, "status": status}
