"""Sales orders: taken as drafts, confirmed into production and reservations, held on credit.

Confirming an order checks the customer's credit first: open receivables plus orders
confirmed but not yet invoiced plus this order must stay within the credit limit, or
the order is held with the reason (and nothing else happens until the hold is
released). Then each line gets what it needs:

* a service line (service item, service contract) needs nothing from stock or the floor;
* a make-to-order, engineered or repair line of a made item gets a production order for
  its whole quantity (engineered lines carry their technical specs to it);
* a standard (stock) line reserves finished goods on hand; what is missing becomes a
  production order (made item) or a purchase suggestion (bought item).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from central.db.domain import (
    ORDER_TYPES,
    customers,
    invoices,
    items,
    production_orders,
    purchase_suggestions,
    reservations,
    sales_order_lines,
    sales_orders,
)
from central.orders import production
from central.orders.errors import Conflict, Invalid, NotFound
from central.orders.inventory import FINISHED_GOODS, STORES
from central.orders.numbers import next_number

BILLED_OR_DONE = ("draft", "shipped", "closed", "cancelled")


def create(
    conn: Connection,
    *,
    customer: str,
    type: str,
    lines: list[dict[str, Any]],
    now: datetime,
    due_date: date | None = None,
    customer_reference: str | None = None,
    technical_specs: dict[str, Any] | None = None,
) -> str:
    """A draft order; ``lines`` are ``{item, quantity, unit_price_cents?, due_date?, ...}``."""
    if type not in ORDER_TYPES:
        raise Invalid(
            "unknown_type", f"order type {type!r} is none of {', '.join(ORDER_TYPES)}", "type"
        )
    cust = conn.execute(select(customers).where(customers.c.code == customer)).one_or_none()
    if cust is None:
        raise Invalid("unknown_customer", f"no customer {customer!r}", "customer")
    if not lines:
        raise Invalid("no_lines", "an order needs at least one line", "lines")
    if type == "engineered" and not (
        technical_specs or all(line.get("technical_specs") for line in lines)
    ):
        raise Invalid(
            "specs_required", "an engineered order needs its technical specs", "technical_specs"
        )
    resolved = []
    for i, line in enumerate(lines):
        item = conn.execute(select(items).where(items.c.code == line["item"])).one_or_none()
        if item is None:
            raise Invalid("unknown_item", f"no item {line['item']!r}", f"lines.{i}.item")
        if type == "service_contract" and item.kind != "service":
            raise Invalid(
                "not_service", f"a service contract sells services, not {item.code}", f"lines.{i}"
            )
        quantity = line.get("quantity")
        if not isinstance(quantity, int | float) or not math.isfinite(quantity) or quantity <= 0:
            raise Invalid(
                "invalid_quantity",
                f"quantity must be positive, not {quantity!r}",
                f"lines.{i}.quantity",
            )
        price = line.get("unit_price_cents")
        if price is not None and (not isinstance(price, int) or price < 0):
            raise Invalid(
                "invalid_price",
                "unit_price_cents must be a whole number >= 0",
                f"lines.{i}.unit_price_cents",
            )
        resolved.append((item, item.price_cents if price is None else price))
    number = next_number(conn, "sales_order", now)
    order_id = conn.execute(
        insert(sales_orders).values(
            number=number,
            customer_id=cust.id,
            type=type,
            status="draft",
            customer_reference=customer_reference,
            technical_specs=technical_specs,
            due_date=due_date,
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(
        insert(sales_order_lines),
        [
            {
                "sales_order_id": order_id,
                "line_no": i,
                "item_id": item.id,
                "quantity": line["quantity"],
                "unit_price_cents": price,
                "due_date": line.get("due_date") or due_date,
                "technical_specs": line.get("technical_specs"),
                "produced": 0.0,
                "shipped": 0.0,
            }
            for i, (line, (item, price)) in enumerate(zip(lines, resolved, strict=True), start=1)
        ],
    )
    return number


def order_value_cents(conn: Connection, order_id: int) -> int:
    value = conn.execute(
        select(
            func.coalesce(
                func.sum(sales_order_lines.c.quantity * sales_order_lines.c.unit_price_cents), 0
            )
        ).where(sales_order_lines.c.sales_order_id == order_id)
    ).scalar_one()
    return round(float(value))


def exposure_cents(conn: Connection, customer_id: int, *, excluding: int | None = None) -> int:
    """Open receivables plus confirmed orders not yet shipped (and so not yet invoiced)."""
    open_ar = conn.execute(
        select(func.coalesce(func.sum(invoices.c.amount_cents - invoices.c.paid_cents), 0)).where(
            invoices.c.customer_id == customer_id, invoices.c.status == "open"
        )
    ).scalar_one()
    unbilled = conn.execute(
        select(
            func.coalesce(
                func.sum(
                    (sales_order_lines.c.quantity - sales_order_lines.c.shipped)
                    * sales_order_lines.c.unit_price_cents
                ),
                0,
            )
        )
        .join(sales_orders, sales_orders.c.id == sales_order_lines.c.sales_order_id)
        .where(
            sales_orders.c.customer_id == customer_id,
            sales_orders.c.status.not_in((*BILLED_OR_DONE, "held")),
            sales_orders.c.id != (excluding or -1),
        )
    ).scalar_one()
    return round(float(open_ar) + float(unbilled))


def _get(conn: Connection, number: str) -> Any:
    order = conn.execute(
        # locked: a confirmation and a cancel (or two confirmations) must not interleave
        select(sales_orders).where(sales_orders.c.number == number).with_for_update()
    ).one_or_none()
    if order is None:
        raise NotFound("sales order", number)
    return order


def confirm(
    conn: Connection, number: str, now: datetime, *, override_credit: bool = False
) -> dict[str, Any]:
    """Confirm a draft (or re-check a held) order; see the module docstring for what follows.

    ``override_credit`` (an admin's decision) confirms a held order despite its credit.
    """
    order = _get(conn, number)
    if order.status not in ("draft", "held"):
        raise Conflict("not_draft", f"sales order {number} is {order.status}, not draft")
    cust = conn.execute(select(customers).where(customers.c.id == order.customer_id)).one()
    value = order_value_cents(conn, order.id)
    if cust.credit_limit_cents is not None and not override_credit:
        exposure = exposure_cents(conn, cust.id, excluding=order.id)
        if exposure + value > cust.credit_limit_cents:
            reason = (
                f"credit limit {_money(cust.credit_limit_cents)} exceeded: "
                f"open {_money(exposure)} + this order {_money(value)}"
            )
            conn.execute(
                update(sales_orders)
                .where(sales_orders.c.id == order.id)
                .values(status="held", hold_reason=reason)
            )
            return {"number": number, "status": "held", "hold_reason": reason}
    plan = production.Planned([], [], [])
    lines = conn.execute(
        select(sales_order_lines, items.c.kind, items.c.code)
        .join(items, items.c.id == sales_order_lines.c.item_id)
        .where(sales_order_lines.c.sales_order_id == order.id)
        .order_by(sales_order_lines.c.line_no)
    ).all()
    at_hand = any(line.kind != "service" for line in lines)  # every good reserved?
    for line in lines:
        due = line.due_date or order.due_date
        if line.kind == "service":
            continue
        short = line.quantity
        if order.type == "standard" or line.kind == "buy":
            short = production.reserve(
                conn,
                line.item_id,
                line.quantity,
                now,
                # made goods are received into finished goods; bought ones sit in stores
                location=FINISHED_GOODS if line.kind == "make" else STORES,
                sales_order_line_id=line.id,
                reserved=plan.reserved,
                code=line.code,
            )
        if short <= 1e-9:
            continue
        at_hand = False
        if line.kind == "make":
            production.create(
                conn,
                line.item_id,
                short,
                now,
                sales_order_line_id=line.id,
                due_date=due,
                plan=plan,
                technical_specs=line.technical_specs or order.technical_specs,
            )
        else:
            conn.execute(
                insert(purchase_suggestions).values(
                    item_id=line.item_id,
                    sales_order_line_id=line.id,
                    quantity=short,
                    needed_by=due,
                    status="open",
                    created_at=now,
                )
            )
            plan.purchase_suggestions.append({"item": line.code, "quantity": short, "for": number})
    status = "ready" if at_hand else "confirmed"  # all from stock: ready to ship now
    conn.execute(
        update(sales_orders)
        .where(sales_orders.c.id == order.id)
        .values(status=status, hold_reason=None, confirmed_at=now)
    )
    return {
        "number": number,
        "status": status,
        "production_orders": plan.production_orders,
        "reserved": plan.reserved,
        "purchase_suggestions": plan.purchase_suggestions,
    }


def cancel(conn: Connection, number: str) -> None:
    """Cancel an order not yet in production: its planned work, reservations and
    purchase suggestions go with it. An order the floor is making must be stopped there."""
    order = _get(conn, number)
    if order.status not in ("draft", "held", "confirmed"):
        raise Conflict("not_cancellable", f"sales order {number} is {order.status}")
    line_ids = select(sales_order_lines.c.id).where(sales_order_lines.c.sales_order_id == order.id)
    po = production_orders.c
    made = list(
        conn.execute(
            select(po.id, po.number, po.status).where(po.sales_order_line_id.in_(line_ids))
        )
    )
    parents = [m.id for m in made]
    while parents:  # and the orders making their components, level by level
        children = list(
            conn.execute(select(po.id, po.number, po.status).where(po.parent_id.in_(parents)))
        )
        made += children
        parents = [c.id for c in children]
    busy = [m.number for m in made if m.status != "planned"]
    if busy:
        raise Conflict(
            "in_production",
            f"sales order {number} is being made ({', '.join(busy)} released): stop it there first",
        )
    made_ids = [m.id for m in made]
    conn.execute(
        delete(reservations).where(
            or_(
                reservations.c.sales_order_line_id.in_(line_ids),
                reservations.c.production_order_id.in_(made_ids),
            )
        )
    )
    conn.execute(
        update(purchase_suggestions)
        .where(
            or_(
                purchase_suggestions.c.production_order_id.in_(made_ids),
                purchase_suggestions.c.sales_order_line_id.in_(line_ids),
            ),
            purchase_suggestions.c.status == "open",
        )
        .values(status="cancelled")
    )
    conn.execute(
        update(production_orders)
        .where(production_orders.c.id.in_(made_ids))
        .values(status="cancelled")
    )
    conn.execute(
        update(sales_orders).where(sales_orders.c.id == order.id).values(status="cancelled")
    )


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"
