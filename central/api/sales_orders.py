"""Sales orders: taken as drafts with lines, confirmed into production (or held on credit).

What confirming does is the domain's (central.orders.sales); this module takes the
request, checks who may, and shows an order with everything that hangs off it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import Connection, func, select

from central.api.deps import MAX_ID, CurrentUser, Db, Paged, Write, page_of, writer
from central.api.errors import Forbidden
from central.api.invoices import invoices_where
from central.api.production_orders import reservations_of, summary_query, tasks_of
from central.api.rows import MAX_LINES, Body, Code, CodeInPath, Quantity, dicts, get, record
from central.api.shipments import shipments_where
from central.auth import CREDIT_OVERRIDE, SALES
from central.crm import audit, fields
from central.db.crm import quotes
from central.db.domain import (
    customers,
    invoices,
    items,
    production_orders,
    sales_order_lines,
    sales_orders,
    shipments,
)
from central.orders import sales

router = APIRouter(tags=["sales orders"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
S, L = sales_orders.c, sales_order_lines.c

OrderType = Literal["standard", "make_to_order", "engineered", "service_contract", "repair"]
OrderStatus = Literal[
    "draft", "confirmed", "held", "in_production", "ready", "shipped", "closed", "cancelled"
]


class NewLine(Body):
    item: Code
    quantity: Quantity
    unit_price_cents: int | None = Field(
        None, ge=0, le=MAX_ID, description="default: the item's price"
    )
    due_date: date | None = Field(None, description="default: the order's")
    technical_specs: dict[str, Any] | None = None


class NewSalesOrder(Body):
    customer: Code
    type: OrderType
    lines: list[NewLine] = Field(min_length=1, max_length=MAX_LINES)
    due_date: date | None = None
    customer_reference: str | None = Field(None, max_length=64)
    technical_specs: dict[str, Any] | None = Field(None, description="engineered orders")


class Confirmation(Body):
    override_credit: bool = Field(
        False, description="confirm although the credit limit would hold it (admin only)"
    )


def _summary_query() -> Any:
    return select(
        S.id,
        S.number,
        customers.c.code.label("customer"),
        S.type,
        S.status,
        S.hold_reason,
        S.customer_reference,
        S.due_date,
        S.created_at,
        S.confirmed_at,
    ).join(customers, customers.c.id == S.customer_id)


@router.get("/sales-orders")
def list_sales_orders(
    db: Db,
    page: Paged,
    user: CurrentUser,
    status: Annotated[list[OrderStatus] | None, Query()] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[OrderType | None, Query()] = None,
    due_before: Annotated[date | None, Query(description="due on or before")] = None,
    due_after: Annotated[date | None, Query(description="due on or after")] = None,
) -> dict[str, Any]:
    """Sales orders by number, with their value."""
    query = _summary_query().order_by(S.number).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(S.number > page.after)
    if status:
        query = query.where(S.status.in_(status))
    if customer is not None:
        customer_id = select(customers.c.id).where(customers.c.code == customer)
        query = query.where(S.customer_id == customer_id.scalar_subquery())
    if type is not None:
        query = query.where(S.type == type)
    if due_before is not None:
        query = query.where(S.due_date <= due_before)
    if due_after is not None:
        query = query.where(S.due_date >= due_after)
    with db.connect() as conn:
        rows = conn.execute(query).all()
        values = _values(conn, [r.id for r in rows])
    listed = [
        fields.visible(
            "sales_order", {**record(r, drop=("id",)), "value_cents": values.get(r.id, 0)}, user
        )
        for r in rows
    ]
    return page_of(listed, page, "number")


@router.post("/sales-orders", status_code=201)
def create_sales_order(body: NewSalesOrder, write: SalesWrite) -> dict[str, Any]:
    """A draft order; nothing is planned before it is confirmed."""

    def work(conn: Connection) -> dict[str, Any]:
        number = sales.create(
            conn,
            customer=body.customer,
            type=body.type,
            lines=[line.model_dump() for line in body.lines],
            now=write.now,
            due_date=body.due_date,
            customer_reference=body.customer_reference,
            technical_specs=body.technical_specs,
        )
        answer = detail(conn, number)
        audit.record(
            conn, "sales_order", number, "created", write.user.id, write.now, after=_state(answer)
        )
        return answer

    return write(work)


@router.get("/sales-orders/{number}")
def sales_order(number: CodeInPath, db: Db, user: CurrentUser) -> dict[str, Any]:
    """One order: lines, production orders and their tasks, reservations, shipments, invoices
    (prices and invoices for sales and admin only)."""
    with db.connect() as conn:
        return fields.visible("sales_order", detail(conn, number), user)


@router.post("/sales-orders/{number}/confirm")
def confirm(
    number: CodeInPath, write: SalesWrite, body: Confirmation | None = None
) -> dict[str, Any]:
    """Confirm a draft or held order: production, reservations, purchase suggestions, or a hold.

    A customer over the credit limit gets the order held with the reason (200, status
    ``held``); an admin may confirm it anyway with ``override_credit``.
    """
    override = body is not None and body.override_credit
    if override and not write.user.may(CREDIT_OVERRIDE):
        raise Forbidden("override_credit", CREDIT_OVERRIDE)

    def work(conn: Connection) -> dict[str, Any]:
        before = _status(conn, number)
        answer = sales.confirm(conn, number, write.now, override_credit=override)
        action = "confirmed_over_credit" if override else "confirmed"
        after = _status(conn, number)
        audit.record(
            conn,
            "sales_order",
            number,
            action,
            write.user.id,
            write.now,
            before=before,
            after=after,
            always=True,
        )
        return answer

    return write(work)


@router.post("/sales-orders/{number}/cancel")
def cancel(number: CodeInPath, write: SalesWrite) -> dict[str, Any]:
    """Cancel a draft, held or confirmed order."""

    def work(conn: Connection) -> dict[str, Any]:
        before = _status(conn, number)
        sales.cancel(conn, number)
        after = _status(conn, number)
        audit.record(
            conn,
            "sales_order",
            number,
            "cancelled",
            write.user.id,
            write.now,
            before=before,
            after=after,
        )
        return {"number": number, "status": "cancelled"}

    return write(work)


def detail(conn: Connection, number: str) -> dict[str, Any]:
    order = get(conn, _summary_query().where(S.number == number), "sales order", number)
    lines = conn.execute(
        select(
            L.id,
            L.line_no,
            items.c.code.label("item"),
            L.quantity,
            L.unit_price_cents,
            L.due_date,
            L.technical_specs,
            L.produced,
            L.shipped,
        )
        .join(items, items.c.id == L.item_id)
        .where(L.sales_order_id == order.id)
        .order_by(L.line_no)
    ).all()
    line_ids = [line.id for line in lines]
    made = made_for(conn, line_ids)
    tasks = tasks_of(conn, [m.id for m in made])
    quote = select(quotes.c.number).where(quotes.c.sales_order_id == order.id).limit(1)
    return {
        **record(order, drop=("id",)),
        "quote": conn.execute(quote).scalar(),  # the quote accepted into it, if one was
        "value_cents": round(sum(line.quantity * line.unit_price_cents for line in lines)),
        "lines": dicts(lines, drop=("id",)),
        "production_orders": [
            {
                **record(m, drop=("id", "sales_order")),
                "tasks": tasks.get(m.id, []),
            }
            for m in made
        ],
        "reservations": reservations_of(conn, line_ids, [m.id for m in made]),
        "shipments": shipments_where(conn, shipments.c.sales_order_id == order.id),
        "invoices": invoices_where(conn, invoices.c.sales_order_id == order.id),
    }


def made_for(conn: Connection, line_ids: Sequence[int]) -> list[Any]:
    """Production orders for these lines and, level by level, those making their components."""
    PO = production_orders.c
    level = list(
        conn.execute(
            summary_query().where(PO.sales_order_line_id.in_(line_ids)).order_by(PO.number)
        )
    )
    found = list(level)
    while level:  # a query per BOM level, never per order
        parents = [m.id for m in level]
        level = list(
            conn.execute(summary_query().where(PO.parent_id.in_(parents)).order_by(PO.number))
        )
        found += level
    return found


def _values(conn: Connection, order_ids: Sequence[int]) -> dict[int, int]:
    rows = conn.execute(
        select(L.sales_order_id, func.sum(L.quantity * L.unit_price_cents))
        .where(L.sales_order_id.in_(order_ids))
        .group_by(L.sales_order_id)
    )
    return {order_id: round(value) for order_id, value in rows}


def _status(conn: Connection, number: str) -> dict[str, Any]:
    row = get(
        conn, select(S.status, S.hold_reason).where(S.number == number), "sales order", number
    )
    return record(row)


def _state(order: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of a new order: its header and lines (prices included)."""
    keep = ("customer", "type", "status", "due_date", "customer_reference")
    lines = [
        {k: line[k] for k in ("line_no", "item", "quantity", "unit_price_cents", "due_date")}
        | ({"technical_specs": line["technical_specs"]} if line["technical_specs"] else {})
        for line in order["lines"]
    ]
    return {**{k: order[k] for k in keep}, "lines": lines}
