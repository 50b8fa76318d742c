"""Shipments: finished goods reserved for an order leave, and an invoice is raised for them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import ColumnElement, Connection, select

from central.api.deps import Db, Paged, Write, page_of, writer
from central.api.rows import MAX_LINES, Body, CodeInPath, Quantity
from central.auth import SALES
from central.crm import audit
from central.db.domain import (
    invoices,
    items,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
)
from central.orders import shipping
from central.orders.errors import NotFound

router = APIRouter(tags=["shipments"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
H, HL = shipments.c, shipment_lines.c


class ShipLine(Body):
    line_no: int = Field(ge=1, le=MAX_LINES)
    quantity: Quantity


class Shipping(Body):
    lines: list[ShipLine] | None = Field(
        None,
        max_length=MAX_LINES,
        description="what to ship; default: everything ready of every line",
    )
    carrier: str | None = Field(None, max_length=64)
    tracking: str | None = Field(None, max_length=64)


@router.post("/sales-orders/{number}/ship", status_code=201)
def ship(number: CodeInPath, write: SalesWrite, body: Shipping | None = None) -> dict[str, Any]:
    """Ship what is ready (or the lines given) and raise its invoice; 409 if nothing is."""
    body = body or Shipping()

    def work(conn: Connection) -> dict[str, Any]:
        shipped = shipping.ship(
            conn,
            number,
            write.now,
            lines=[line.model_dump() for line in body.lines] if body.lines else None,
            carrier=body.carrier,
            tracking=body.tracking,
        )
        answer = shipments_where(conn, H.number == shipped["number"])[0]
        shipped_lines = [
            {"line_no": x["line_no"], "quantity": x["quantity"]} for x in answer["lines"]
        ]
        audit.record(
            conn,
            "sales_order",
            number,
            "shipped",
            write.user.id,
            write.now,
            after={
                "shipment": answer["number"],
                "invoice": answer["invoice"],
                "lines": shipped_lines,
            },
        )
        return answer

    return write(work)


@router.get("/shipments")
def list_shipments(
    db: Db, page: Paged, sales_order: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    """Shipments by number, with their lines and invoice."""
    query = select(H.id).order_by(H.number).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(H.number > page.after)
    if sales_order is not None:
        order_id = select(sales_orders.c.id).where(sales_orders.c.number == sales_order)
        query = query.where(H.sales_order_id == order_id.scalar_subquery())
    with db.connect() as conn:
        ids = list(conn.execute(query).scalars())
        return page_of(shipments_where(conn, H.id.in_(ids)), page, "number")


@router.get("/shipments/{number}")
def shipment(number: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        found = shipments_where(conn, H.number == number)
    if not found:
        raise NotFound("shipment", number)
    return found[0]


def shipments_where(conn: Connection, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """Shipments matching ``where`` by number, each with its lines and invoice, in one query."""
    rows = conn.execute(
        select(
            H.number,
            sales_orders.c.number.label("sales_order"),
            H.shipped_at,
            H.carrier,
            H.tracking,
            invoices.c.number.label("invoice"),
            sales_order_lines.c.line_no,
            items.c.code.label("item"),
            HL.lot,
            HL.quantity,
        )
        .join(sales_orders, sales_orders.c.id == H.sales_order_id)
        .join(shipment_lines, HL.shipment_id == H.id)
        .join(sales_order_lines, sales_order_lines.c.id == HL.sales_order_line_id)
        .join(items, items.c.id == HL.item_id)
        .outerjoin(invoices, invoices.c.shipment_id == H.id)
        .where(where)
        .order_by(H.number, HL.id)
    )
    found: dict[str, dict[str, Any]] = {}
    for r in rows:
        one = found.get(r.number)
        if one is None:
            one = found[r.number] = {
                "number": r.number,
                "sales_order": r.sales_order,
                "shipped_at": r.shipped_at,
                "carrier": r.carrier,
                "tracking": r.tracking,
                "invoice": r.invoice,
                "lines": [],
            }
        one["lines"].append(
            {"line_no": r.line_no, "item": r.item, "lot": r.lot, "quantity": r.quantity}
        )
    return list(found.values())
