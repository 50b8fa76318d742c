"""Secret links that show a customer one sales order's progress, and nothing else.

A link is 32 random bytes, shown once when it is made; only its sha256 is stored, so the
database hands out no links. A revoked, expired or unknown link gets the same 404, so the
answer says nothing about which orders exist. What the page shows is chosen field by
field (``public_view``): progress per line, the expected ship date and the shipments; no
prices, lots, stations, people or other orders.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from central.db.aftersales import order_links
from central.db.domain import (
    customers,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
    users,
)
from central.db.rows import dicts, get
from central.orders.errors import Conflict, NotFound
from central.orders.tracking import orders_progress

K, S = order_links.c, sales_orders.c

# What the customer reads for each order status: a credit hold is our business, not theirs.
CUSTOMER_STATUS = {
    "draft": "received",
    "confirmed": "confirmed",
    "held": "confirmed",
    "in_production": "in production",
    "ready": "ready to ship",
    "shipped": "shipped",
    "closed": "completed",
    "cancelled": "cancelled",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    conn: Connection, number: str, user_id: int, now: datetime, expires_in_days: int | None
) -> dict[str, Any]:
    """A new link to order ``number``; the answer is the only place its token appears."""
    order = get(conn, select(S.id, S.status).where(S.number == number), "sales order", number)
    if order.status == "cancelled":
        raise Conflict("cancelled", f"sales order {number} is cancelled: nothing to follow")
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    link_id = conn.execute(
        insert(order_links).values(
            sales_order_id=order.id,
            token_hash=_hash(token),
            created_by=user_id,
            created_at=now,
            expires_at=expires,
            views=0,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return {**_links(conn, order.id, now, link_id)[0], "token": token, "path": f"/track/{token}"}


def listed(conn: Connection, number: str, now: datetime) -> list[dict[str, Any]]:
    order = get(conn, select(S.id).where(S.number == number), "sales order", number)
    return _links(conn, order.id, now)


def revoke(conn: Connection, number: str, link_id: int, now: datetime) -> dict[str, Any]:
    order = get(conn, select(S.id).where(S.number == number), "sales order", number)
    done = conn.execute(
        update(order_links)
        .where(K.id == link_id, K.sales_order_id == order.id, K.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if not done and not _links(conn, order.id, now, link_id):
        raise NotFound("link", link_id)
    return _links(conn, order.id, now, link_id)[0]


def _links(
    conn: Connection, order_id: int, now: datetime, link_id: int | None = None
) -> list[dict[str, Any]]:
    query = (
        select(
            K.id,
            users.c.name.label("created_by"),
            K.created_at,
            K.expires_at,
            K.revoked_at,
            K.last_seen_at,
            K.views,
        )
        .join(users, users.c.id == K.created_by)
        .where(K.sales_order_id == order_id)
        .order_by(K.id)
    )
    if link_id is not None:
        query = query.where(K.id == link_id)
    return [
        {**row, "active": row["revoked_at"] is None and not _expired(row["expires_at"], now)}
        for row in dicts(conn.execute(query))
    ]


def _expired(expires: datetime | None, now: datetime) -> bool:
    return expires is not None and expires <= now


def order_of(conn: Connection, token: str, now: datetime) -> int:
    """The sales order id a live link shows; NotFound for anything else, all alike."""
    row = conn.execute(
        select(K.id, K.sales_order_id, K.expires_at, K.revoked_at).where(
            K.token_hash == _hash(token)
        )
    ).first()
    if row is None or row.revoked_at is not None or _expired(row.expires_at, now):
        raise NotFound("link", "given")
    return int(row.sales_order_id)


def seen(conn: Connection, token: str, now: datetime) -> None:
    conn.execute(
        update(order_links)
        .where(K.token_hash == _hash(token))
        .values(views=K.views + 1, last_seen_at=now)
    )


def public_view(conn: Connection, order_id: int, now: datetime) -> dict[str, Any]:
    """The order as its customer may see it."""
    order = conn.execute(
        select(
            S.number,
            S.status,
            S.customer_reference,
            S.due_date,
            S.created_at,
            customers.c.name.label("customer"),
        )
        .join(customers, customers.c.id == S.customer_id)
        .where(S.id == order_id)
    ).one()
    progress = orders_progress(conn, [order_id], now.date(), operations=False)[order_id]
    lines = [
        {
            key: line[key]
            for key in (
                "line_no",
                "description",
                "quantity",
                "produced",
                "shipped",
                "progress",
                "due_date",
                "expected_ship",
            )
        }
        for line in progress["lines"]
    ]
    return {
        "order": order.number,
        "customer": order.customer,
        "customer_reference": order.customer_reference,
        "status": CUSTOMER_STATUS[order.status],
        "ordered_at": order.created_at,
        "due_date": order.due_date,
        "progress": progress["progress"],
        "expected_ship": progress["expected_ship"],
        "lines": lines,
        "shipments": _shipments(conn, order_id),
        "as_of": now,
    }


def _shipments(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    H, HL = shipments.c, shipment_lines.c
    rows = conn.execute(
        select(
            H.id,
            H.number,
            H.shipped_at,
            H.carrier,
            H.tracking,
            sales_order_lines.c.line_no,
            HL.quantity,
        )
        .outerjoin(shipment_lines, HL.shipment_id == H.id)
        .outerjoin(sales_order_lines, sales_order_lines.c.id == HL.sales_order_line_id)
        .where(H.sales_order_id == order_id)
        .order_by(H.shipped_at, H.id, sales_order_lines.c.line_no)
    )
    found: dict[int, dict[str, Any]] = {}
    for r in rows:
        one = found.setdefault(
            r.id,
            {
                "number": r.number,
                "shipped_at": r.shipped_at,
                "carrier": r.carrier,
                "tracking": r.tracking,
                "lines": {},
            },
        )
        if r.line_no is not None:  # a line shipped in several lots is one line here
            one["lines"][r.line_no] = one["lines"].get(r.line_no, 0.0) + r.quantity
    return [
        {**s, "lines": [{"line_no": n, "quantity": q} for n, q in sorted(s["lines"].items())]}
        for s in found.values()
    ]
