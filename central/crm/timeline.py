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
    """One kind of entry: a document placed by its ``at``, read by its customer column, or a
    ``custom`` query (customer id -> select) where the entry needs more than that."""

    name: str
    at: Any  # the column the entry is placed by
    id: Any
    customer: Any = None
    reference: Any = None
    detail: Any = None
    extra: tuple[Any, ...] = ()  # more columns: a title, an amount, a version
    join: tuple[Any, ...] | None = None  # (table, on): where the customer column lives
    custom: Callable[[int], Any] | None = None

    def query(self, customer_id: int) -> Any:
        if self.custom is not None:
            return self.custom(customer_id)
        found = select(
            self.at.label("at"),
            self.id,
            self.reference.label("reference"),
            self.detail.label("detail"),
            *self.extra,
        )
        if self.join is not None:
            found = found.join(*self.join)
        return found.where(self.customer == customer_id)


def _interactions(cid: int) -> Any:
    I = interactions.c  # noqa: E741
    return (
        select(
            I.at,
            I.id,
            I.subject.label("title"),
            I.kind,
            I.body.label("detail"),
            users.c.name.label("by"),
            contacts.c.name.label("contact"),
            I.direction,
        )
        .join(users, users.c.id == I.user_id)
        .outerjoin(contacts, contacts.c.id == I.contact_id)
        .where(I.customer_id == cid)
    )


I, O, P, Q = interactions.c, opportunities.c, payments.c, quotes.c  # noqa: E741
K, R = service_tickets.c, repair_orders.c
SOURCES = (  # by name: the order of ties
    Source("interaction", I.at, I.id, custom=_interactions),
    Source("invoice", V.issued_at, V.id, V.customer_id, V.number, V.status, (V.amount_cents,)),
    Source(
        "opportunity", O.created_at, O.id, O.customer_id, O.number, O.stage,
        (O.name.label("title"),),
    ),
    Source(
        "order", S.created_at, S.id, S.customer_id, S.number, S.status,
        (S.type.label("title"),),
    ),
    Source(
        "payment", P.received_at, P.id, V.customer_id, V.number, P.reference,
        (P.amount_cents,), join=(invoices, V.id == P.invoice_id),
    ),
    Source("quote", Q.created_at, Q.id, Q.customer_id, Q.number, Q.status, (Q.version,)),
    Source(
        "repair", R.opened_at, R.id, R.customer_id, R.number, R.status,
        (R.fault.label("title"),),
    ),
    Source(
        "shipment", H.shipped_at, H.id, S.customer_id, H.number, H.carrier,
        (S.number.label("title"),), join=(sales_orders, S.id == H.sales_order_id),
    ),
    Source(
        "ticket", K.opened_at, K.id, K.customer_id, K.number, K.status,
        (K.subject.label("title"),),
    ),
)  # fmt: skip
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
