"""A customer's whole story on one page: contacts, orders and how far they are, shipments,
what they owe, tickets, repairs, and their RFM segment with its history.

Each section is a bounded, indexed query (the newest ``LIMIT`` rows plus a count), so the
page costs the same for a customer with ten orders as for one with ten thousand.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from central.aftersales import sla, tickets
from central.crm import accounts
from central.db.aftersales import (
    repair_orders,
    rfm_history,
    rfm_scores,
    service_tickets,
    technicians,
)
from central.db.domain import (
    contacts,
    customers,
    invoices,
    items,
    sales_order_lines,
    sales_orders,
    shipments,
    users,
)
from central.db.rows import dicts, get, record
from central.orders.sales import exposure_cents
from central.orders.tracking import orders_progress

LIMIT = 20
OPEN_ORDERS = ("draft", "confirmed", "held", "in_production", "ready")
OPEN_REPAIRS = ("open", "assigned", "in_progress", "done")
S, V, K, R = sales_orders.c, invoices.c, service_tickets.c, repair_orders.c


def overview(conn: Connection, code: str, now: datetime) -> dict[str, Any]:
    """The 360 of the customer with ``code`` (404 when unknown)."""
    customer = get(conn, select(customers).where(customers.c.code == code), "customer", code)
    cid = customer.id
    owner = conn.execute(select(users.c.name).where(users.c.id == customer.owner_id)).scalar()
    return {
        "customer": {
            **record(customer, drop=("id", "owner_id", "parent_id", "name_key")),
            "owner": owner,
            "exposure_cents": exposure_cents(conn, cid),
            "group": accounts.group(conn, cid),
        },
        "contacts": dicts(
            conn.execute(
                select(contacts).where(contacts.c.customer_id == cid).order_by(contacts.c.id)
            ),
            drop=("customer_id",),
        ),
        "addresses": accounts.addresses(conn, cid),
        "orders": _orders(conn, cid, now),
        "shipments": _shipments(conn, cid),
        "receivables": _receivables(conn, cid, now),
        "tickets": _tickets(conn, cid, now),
        "repairs": _repairs(conn, cid),
        "rfm": _rfm(conn, cid),
    }


def _count(conn: Connection, where: Any, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


def _orders(conn: Connection, cid: int, now: datetime) -> dict[str, Any]:
    rows = conn.execute(
        select(
            S.id,
            S.number,
            S.type,
            S.status,
            S.hold_reason,
            S.customer_reference,
            S.due_date,
            S.created_at,
        )
        .where(S.customer_id == cid)
        .order_by(S.id.desc())
        .limit(LIMIT)
    ).all()
    ids = [r.id for r in rows]
    values = dict(
        conn.execute(
            select(
                sales_order_lines.c.sales_order_id,
                func.sum(sales_order_lines.c.quantity * sales_order_lines.c.unit_price_cents),
            )
            .where(sales_order_lines.c.sales_order_id.in_(ids))
            .group_by(sales_order_lines.c.sales_order_id)
        ).all()
    )
    progress = orders_progress(conn, ids, now.date())
    return {
        "total": _count(conn, S.customer_id == cid, sales_orders),
        "open": _count(conn, and_(S.customer_id == cid, S.status.in_(OPEN_ORDERS)), sales_orders),
        "items": [
            {
                **record(r, drop=("id",)),
                "value_cents": round(values.get(r.id) or 0),
                **progress[r.id],
            }
            for r in rows
        ],
    }


def _shipments(conn: Connection, cid: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            shipments.c.number,
            S.number.label("sales_order"),
            shipments.c.shipped_at,
            shipments.c.carrier,
            shipments.c.tracking,
        )
        .join(sales_orders, S.id == shipments.c.sales_order_id)
        .where(S.customer_id == cid)
        .order_by(shipments.c.id.desc())
        .limit(LIMIT)
    )
    return dicts(rows)


def _receivables(conn: Connection, cid: int, now: datetime) -> dict[str, Any]:
    today = now.date()
    rows = conn.execute(
        select(
            V.number,
            S.number.label("sales_order"),
            V.amount_cents,
            V.paid_cents,
            (V.amount_cents - V.paid_cents).label("open_cents"),
            V.issued_at,
            V.due_date,
        )
        .join(sales_orders, S.id == V.sales_order_id)
        .where(V.customer_id == cid, V.status == "open")
        .order_by(V.due_date, V.number)
    ).all()
    listed = [{**record(r), "overdue": r.due_date < today} for r in rows]
    return {
        "open_cents": sum(r["open_cents"] for r in listed),
        "overdue_cents": sum(r["open_cents"] for r in listed if r["overdue"]),
        "invoices": listed,
    }


def _tickets(conn: Connection, cid: int, now: datetime) -> dict[str, Any]:
    rows = conn.execute(
        select(
            K.number,
            K.kind,
            K.channel,
            K.priority,
            K.status,
            K.subject,
            K.opened_at,
            K.response_due,
            K.resolution_due,
            K.first_response_at,
            K.resolved_at,
            K.satisfaction,
        )
        .where(K.customer_id == cid)
        .order_by(K.id.desc())
        .limit(LIMIT)
    ).all()
    listed = [{**record(r), **sla.flags(r, now)} for r in rows]
    return {
        "open": _count(
            conn, and_(K.customer_id == cid, K.status.in_(tickets.OPEN)), service_tickets
        ),
        "items": listed,
    }


def _repairs(conn: Connection, cid: int) -> dict[str, Any]:
    rows = conn.execute(
        select(
            R.number,
            R.kind,
            R.status,
            items.c.code.label("item"),
            R.lot,
            R.under_warranty,
            R.warranty_until,
            technicians.c.code.label("technician"),
            R.opened_at,
            R.closed_at,
            R.satisfaction,
        )
        .join(items, items.c.id == R.item_id)
        .outerjoin(technicians, technicians.c.id == R.technician_id)
        .where(R.customer_id == cid)
        .order_by(R.id.desc())
        .limit(LIMIT)
    )
    return {
        "open": _count(conn, and_(R.customer_id == cid, R.status.in_(OPEN_REPAIRS)), repair_orders),
        "items": dicts(rows),
    }


def _rfm(conn: Connection, cid: int) -> dict[str, Any] | None:
    score = conn.execute(select(rfm_scores).where(rfm_scores.c.customer_id == cid)).first()
    if score is None:
        return None
    history = conn.execute(
        select(rfm_history.c.previous, rfm_history.c.segment, rfm_history.c.at)
        .where(rfm_history.c.customer_id == cid)
        .order_by(rfm_history.c.at.desc(), rfm_history.c.id.desc())
        .limit(LIMIT)
    )
    return {**record(score, drop=("customer_id", "run_id")), "history": dicts(history)}
