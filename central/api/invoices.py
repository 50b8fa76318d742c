"""Invoices and receivables: what each customer owes, what is overdue, payments against it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import ColumnElement, Connection, and_, not_, select

from central.api.deps import MAX_ID, Db, Paged, Write, page_of, writer
from central.api.rows import Body, CodeInPath, dicts
from central.auth import SALES
from central.db.domain import customers, invoices, payments, sales_orders, shipments
from central.orders import shipping
from central.orders.errors import NotFound

router = APIRouter(tags=["invoices"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
V = invoices.c


class NewPayment(Body):
    amount_cents: int = Field(gt=0, le=MAX_ID)
    reference: str | None = Field(None, max_length=64)


def _query() -> Any:
    return (
        select(
            V.number,
            customers.c.code.label("customer"),
            sales_orders.c.number.label("sales_order"),
            shipments.c.number.label("shipment"),
            V.amount_cents,
            V.paid_cents,
            (V.amount_cents - V.paid_cents).label("open_cents"),
            V.issued_at,
            V.due_date,
            V.status,
        )
        .join(customers, customers.c.id == V.customer_id)
        .join(sales_orders, sales_orders.c.id == V.sales_order_id)
        .outerjoin(shipments, shipments.c.id == V.shipment_id)
    )


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(V.status == "open", V.due_date < today)


@router.get("/invoices")
def list_invoices(
    db: Db,
    page: Paged,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    open: Annotated[bool | None, Query(description="true: not paid in full yet")] = None,
    overdue: Annotated[bool | None, Query(description="true: open past its due date")] = None,
) -> dict[str, Any]:
    """Invoices by number with the amount still open and whether it is overdue."""
    today = datetime.now(UTC).date()
    query = _query().order_by(V.number).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(V.number > page.after)
    if customer is not None:
        customer_id = select(customers.c.id).where(customers.c.code == customer)
        query = query.where(V.customer_id == customer_id.scalar_subquery())
    if open is not None:
        query = query.where(V.status == "open" if open else V.status != "open")
    if overdue is not None:
        query = query.where(_overdue(today) if overdue else not_(_overdue(today)))
    with db.connect() as conn:
        return page_of(_with_overdue(dicts(conn.execute(query)), today), page, "number")


def invoices_where(conn: Connection, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    today = datetime.now(UTC).date()
    return _with_overdue(dicts(conn.execute(_query().where(where).order_by(V.number))), today)


@router.get("/invoices/{number}")
def invoice(number: CodeInPath, db: Db) -> dict[str, Any]:
    """One invoice with its payments."""
    with db.connect() as conn:
        return _detail(conn, number)


@router.post("/invoices/{number}/payments", status_code=201)
def pay(number: CodeInPath, body: NewPayment, write: SalesWrite) -> dict[str, Any]:
    """Record a payment; the invoice is paid once settled in full (409 if more than is open)."""

    def work(conn: Connection) -> dict[str, Any]:
        shipping.pay(conn, number, body.amount_cents, write.now, body.reference)
        return _detail(conn, number)

    return write(work)


def _detail(conn: Connection, number: str) -> dict[str, Any]:
    found = invoices_where(conn, V.number == number)
    if not found:
        raise NotFound("invoice", number)
    paid = conn.execute(
        select(payments.c.id, payments.c.amount_cents, payments.c.received_at, payments.c.reference)
        .join(invoices, invoices.c.id == payments.c.invoice_id)
        .where(V.number == number)
        .order_by(payments.c.id)
    )
    return {**found[0], "payments": dicts(paid)}


def _with_overdue(rows: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    return [{**r, "overdue": r["status"] == "open" and r["due_date"] < today} for r in rows]
