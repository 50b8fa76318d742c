"""A customer's timeline: every interaction and every document, newest first, one list.

Calls, visits, emails, meetings and notes (``interactions``) stand with the orders,
shipments, invoices, payments, quotes, opportunities, tickets and repairs of the customer.
Each source is read newest first with its own indexed query, at most a page of it, and
the pages are merged; the order is (time, source, id) descending, so the cursor of the
last entry shown (``next``) continues exactly where the page ended, ties included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, literal, or_, select

from central.db.aftersales import repair_orders, service_tickets
from central.db.crm import interactions, opportunities, quotes
from central.db.domain import (
    contacts,
    invoices,
    payments,
    sales_orders,
    shipments,
    users,
)
from central.db.schema import UtcDateTime
from central.orders.errors import Invalid

S, H, V = sales_orders.c, shipments.c, invoices.c


@dataclass(frozen=True)
class Source:
    """One kind of entry: how to select a customer's rows, newest first."""

    name: str
    at: Any  # the column the entry is placed by
    id: Any
    query: Callable[[int], Any]  # customer id -> select of at, id, title, reference, detail, by


def _interactions(cid: int) -> Any:
    I = interactions.c  # noqa: E741
    return (
        select(
            I.at,
            I.id,
            I.subject.label("title"),
            I.kind.label("kind"),
            literal(None).label("reference"),
            I.body.label("detail"),
            users.c.name.label("by"),
            contacts.c.name.label("contact"),
            I.direction,
        )
        .join(users, users.c.id == I.user_id)
        .outerjoin(contacts, contacts.c.id == I.contact_id)
        .where(I.customer_id == cid)
    )


def _orders(cid: int) -> Any:
    return select(
        S.created_at.label("at"),
        S.id,
        S.type.label("title"),
        literal("order").label("kind"),
        S.number.label("reference"),
        S.status.label("detail"),
    ).where(S.customer_id == cid)


def _shipments(cid: int) -> Any:
    return (
        select(
            H.shipped_at.label("at"),
            H.id,
            S.number.label("title"),
            literal("shipment").label("kind"),
            H.number.label("reference"),
            H.carrier.label("detail"),
        )
        .join(sales_orders, S.id == H.sales_order_id)
        .where(S.customer_id == cid)
    )


def _invoices(cid: int) -> Any:
    return select(
        V.issued_at.label("at"),
        V.id,
        V.amount_cents,
        literal("invoice").label("kind"),
        V.number.label("reference"),
        V.status.label("detail"),
    ).where(V.customer_id == cid)


def _payments(cid: int) -> Any:
    P = payments.c
    return (
        select(
            P.received_at.label("at"),
            P.id,
            P.amount_cents,
            literal("payment").label("kind"),
            V.number.label("reference"),
            P.reference.label("detail"),
        )
        .join(invoices, V.id == P.invoice_id)
        .where(V.customer_id == cid)
    )


def _quotes(cid: int) -> Any:
    Q = quotes.c
    return select(
        Q.created_at.label("at"),
        Q.id,
        Q.version,
        literal("quote").label("kind"),
        Q.number.label("reference"),
        Q.status.label("detail"),
    ).where(Q.customer_id == cid)


def _opportunities(cid: int) -> Any:
    O = opportunities.c  # noqa: E741
    return select(
        O.created_at.label("at"),
        O.id,
        O.name.label("title"),
        literal("opportunity").label("kind"),
        O.number.label("reference"),
        O.stage.label("detail"),
    ).where(O.customer_id == cid)


def _tickets(cid: int) -> Any:
    K = service_tickets.c
    return select(
        K.opened_at.label("at"),
        K.id,
        K.subject.label("title"),
        literal("ticket").label("kind"),
        K.number.label("reference"),
        K.status.label("detail"),
    ).where(K.customer_id == cid)


def _repairs(cid: int) -> Any:
    R = repair_orders.c
    return select(
        R.opened_at.label("at"),
        R.id,
        R.fault.label("title"),
        literal("repair").label("kind"),
        R.number.label("reference"),
        R.status.label("detail"),
    ).where(R.customer_id == cid)


SOURCES = (
    Source("interaction", interactions.c.at, interactions.c.id, _interactions),
    Source("invoice", V.issued_at, V.id, _invoices),
    Source("opportunity", opportunities.c.created_at, opportunities.c.id, _opportunities),
    Source("order", S.created_at, S.id, _orders),
    Source("payment", payments.c.received_at, payments.c.id, _payments),
    Source("quote", quotes.c.created_at, quotes.c.id, _quotes),
    Source("repair", repair_orders.c.opened_at, repair_orders.c.id, _repairs),
    Source("shipment", H.shipped_at, H.id, _shipments),
    Source("ticket", service_tickets.c.opened_at, service_tickets.c.id, _tickets),
)
NAMES = tuple(s.name for s in SOURCES)


@dataclass(frozen=True)
class Cursor:
    at: datetime
    source: str
    id: int

    def text(self) -> str:
        return f"{self.at.isoformat()}|{self.source}|{self.id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        try:
            at, source, row_id = text.split("|")
            moment = datetime.fromisoformat(at)
            number = int(row_id)
            if moment.tzinfo is None or source not in NAMES or not 0 < number < 2**63:
                raise ValueError(text)
            moment.astimezone(UTC)  # a moment UTC cannot hold is no cursor either
            return cls(moment, source, number)
        except (ValueError, OverflowError) as exc:
            raise Invalid("invalid_cursor", f"not a timeline cursor: {text!r}", "after") from exc


def _after(source: Source, cursor: Cursor) -> ColumnElement[bool]:
    """Rows of ``source`` that come after ``cursor`` in (at, source, id) descending order."""
    at = literal(cursor.at, UtcDateTime())
    if source.name < cursor.source:  # same time: this source sorts lower, so it comes after
        return source.at <= at
    if source.name == cursor.source:
        return or_(source.at < at, and_(source.at == at, source.id < cursor.id))
    return source.at < at


def timeline(
    conn: Connection,
    customer_id: int,
    *,
    limit: int = 50,
    after: str | None = None,
    kinds: set[str] | None = None,
) -> dict[str, Any]:
    """A page of the customer's timeline, newest first; ``next`` continues it."""
    cursor = Cursor.parse(after) if after else None
    found: list[tuple[datetime, str, int, dict[str, Any]]] = []
    for source in SOURCES:
        if kinds and source.name not in kinds:
            continue
        query = source.query(customer_id)
        if cursor is not None:
            query = query.where(_after(source, cursor))
        query = query.order_by(source.at.desc(), source.id.desc()).limit(limit + 1)
        for row in conn.execute(query):
            entry = {k: v for k, v in row._mapping.items() if v is not None and k != "id"}
            found.append((row.at, source.name, row.id, {"source": source.name, **entry}))
    found.sort(key=lambda e: (e[0], e[1], e[2]), reverse=True)
    page = found[:limit]
    more = len(found) > limit
    last = page[-1] if page else None
    return {
        "items": [e[3] for e in page],
        "next": Cursor(last[0], last[1], last[2]).text() if more and last else None,
    }
