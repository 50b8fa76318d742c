"""Service tickets: opened with SLA due dates, answered, worked, resolved, closed with feedback.

A ticket's response and resolution due dates come from the SLA policy of its priority
when it is opened (a priority change recomputes both from ``opened_at``); policies and
breaches are ``central.aftersales.sla``'s.

    open -> in_progress <-> waiting -> resolved -> closed
    open or waiting -> in_progress; open, in_progress or waiting -> resolved
    resolved -> open (reopened: resolved_at is cleared, the same due date counts)

Resolving a complaint or warranty claim needs its root cause and corrective action.
Closing takes the customer's satisfaction (1-5) and feedback; feedback a customer gives
later may still be recorded, once, on a closed ticket. Reply templates are in
``central.aftersales.replies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, insert, not_, or_, select

from central.aftersales import sla
from central.aftersales.checks import Numbered, check_rating, code_id, id_of_code, one_of
from central.db.aftersales import (
    CHANNELS,
    PRIORITIES,
    TICKET_KINDS,
    repair_orders,
    service_tickets,
    technicians,
    ticket_notes,
)
from central.db.domain import (
    contacts,
    customers,
    items,
    sales_orders,
    shipment_lines,
    shipments,
    users,
)
from central.db.rows import dicts, get, record
from central.orders.errors import Conflict, Invalid
from central.orders.numbers import next_number

__all__ = [
    "OPEN",
    "add_note",
    "assign",
    "close",
    "detail",
    "list_tickets",
    "open_ticket",
    "record_feedback",
    "reopen",
    "resolve",
    "set_priority",
    "shipped_item",
    "start",
    "wait",
]

OPEN = ("open", "in_progress", "waiting")  # not yet resolved
NEEDS_CAUSE = ("complaint", "warranty_claim")  # resolved only with cause and action
SERVICE_ROLES = frozenset({"service", "admin"})  # who a ticket may be assigned to
K, N = service_tickets.c, ticket_notes.c
TICKETS = Numbered(service_tickets, "ticket")


# -- opening and changing a ticket ----------------------------------------------------------


def open_ticket(
    conn: Connection,
    *,
    customer: str,
    kind: str,
    channel: str,
    priority: str,
    subject: str,
    now: datetime,
    description: str = "",
    contact_id: int | None = None,
    sales_order: str | None = None,
    item: str | None = None,
    lot: str | None = None,
) -> str:
    """Open a ticket with the due dates of its priority's SLA; returns its number.

    Without an item, a lot or serial shipped to the customer names its item.
    """
    one_of(kind, TICKET_KINDS, "kind")
    one_of(channel, CHANNELS, "channel")
    one_of(priority, PRIORITIES, "priority")
    if not subject.strip():
        raise Invalid("subject_required", "a ticket needs a subject", "subject")
    customer_id = code_id(conn, customers, customer, "customer")
    if contact_id is not None:
        known = conn.execute(
            select(contacts.c.id).where(
                contacts.c.id == contact_id, contacts.c.customer_id == customer_id
            )
        ).first()
        if known is None:
            raise Invalid(
                "unknown_contact", f"customer {customer} has no contact {contact_id}", "contact_id"
            )
    order_id = None
    if sales_order is not None:
        order = conn.execute(
            select(sales_orders.c.id, sales_orders.c.customer_id).where(
                sales_orders.c.number == sales_order
            )
        ).one_or_none()
        if order is None or order.customer_id != customer_id:
            raise Invalid(
                "unknown_sales_order",
                f"customer {customer} has no sales order {sales_order!r}",
                "sales_order",
            )
        order_id = order.id
    item_id = code_id(conn, items, item, "item") if item is not None else None
    if item_id is None and lot:
        shipped = shipped_item(conn, customer_id, lot)
        item_id = shipped.item_id if shipped is not None else None
    response_due, resolution_due = sla.due_dates(conn, priority, now)
    number = next_number(conn, "ticket", now)
    conn.execute(
        insert(service_tickets).values(
            number=number,
            customer_id=customer_id,
            contact_id=contact_id,
            kind=kind,
            channel=channel,
            priority=priority,
            status="open",
            subject=subject,
            description=description,
            sales_order_id=order_id,
            item_id=item_id,
            lot=lot or None,
            opened_at=now,
            response_due=response_due,
            resolution_due=resolution_due,
        )
    )
    return number


def shipped_item(
    conn: Connection, customer_id: int, lot: str, item_id: int | None = None
) -> Any | None:
    """The first shipment of ``lot`` (of ``item_id``) to the customer: item_id, shipment,
    shipped_at; None when it never went to them."""
    query = (
        select(
            shipment_lines.c.item_id,
            shipments.c.number.label("shipment"),
            shipments.c.shipped_at,
        )
        .join(shipments, shipments.c.id == shipment_lines.c.shipment_id)
        .join(sales_orders, sales_orders.c.id == shipments.c.sales_order_id)
        .where(shipment_lines.c.lot == lot, sales_orders.c.customer_id == customer_id)
        .order_by(shipments.c.shipped_at, shipments.c.id)
        .limit(1)
    )
    if item_id is not None:
        query = query.where(shipment_lines.c.item_id == item_id)
    return conn.execute(query).first()


def set_priority(conn: Connection, number: str, priority: str) -> None:
    """A new priority, with due dates recomputed from when the ticket was opened."""
    one_of(priority, PRIORITIES, "priority")
    ticket = TICKETS.locked(conn, number)
    _not_closed(ticket)
    response_due, resolution_due = sla.due_dates(conn, priority, ticket.opened_at)
    TICKETS.change(
        conn, ticket, priority=priority, response_due=response_due, resolution_due=resolution_due
    )


def assign(conn: Connection, number: str, assignee: str | None) -> None:
    """Give the ticket to an active user with the service or admin role (None: to nobody)."""
    ticket = TICKETS.locked(conn, number)
    _not_closed(ticket)
    user_id = None
    if assignee is not None:
        user = conn.execute(
            select(users.c.id, users.c.roles, users.c.active).where(users.c.name == assignee)
        ).one_or_none()
        if user is None or not user.active:
            raise Invalid("unknown_user", f"no active user {assignee!r}", "assignee")
        if SERVICE_ROLES.isdisjoint(user.roles):
            raise Invalid(
                "not_service",
                f"user {assignee} has neither the service nor the admin role",
                "assignee",
            )
        user_id = user.id
    TICKETS.change(conn, ticket, assignee_id=user_id)


def add_note(
    conn: Connection, number: str, author_id: int, body: str, public: bool, now: datetime
) -> dict[str, Any]:
    """A public reply to the customer (the first one answers the ticket) or an internal note."""
    if not body.strip():
        raise Invalid("body_required", "a note needs a body", "body")
    ticket = TICKETS.locked(conn, number)
    _not_closed(ticket)
    note_id = conn.execute(
        insert(ticket_notes).values(
            ticket_id=ticket.id, author_id=author_id, body=body, public=public, at=now
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    if public and ticket.first_response_at is None:
        TICKETS.change(conn, ticket, first_response_at=now)
    return _notes(conn, N.id == note_id)[0]


# -- status ---------------------------------------------------------------------------------


def start(conn: Connection, number: str) -> None:
    """Work on it (from open, or back from waiting for the customer)."""
    TICKETS.move(conn, number, "in_progress", ("open", "waiting"))


def wait(conn: Connection, number: str) -> None:
    """Waiting for the customer or a third party."""
    TICKETS.move(conn, number, "waiting", ("open", "in_progress"))


def resolve(
    conn: Connection,
    number: str,
    now: datetime,
    *,
    root_cause: str | None = None,
    corrective_action: str | None = None,
) -> None:
    """Resolved; a complaint or warranty claim needs its root cause and corrective action
    (given here, or kept from before it was reopened)."""
    ticket = TICKETS.locked(conn, number)
    TICKETS.check_status(ticket, "resolved", OPEN)
    cause = root_cause if root_cause is not None else ticket.root_cause
    action = corrective_action if corrective_action is not None else ticket.corrective_action
    if ticket.kind in NEEDS_CAUSE:
        for field, value in (("root_cause", cause), ("corrective_action", action)):
            if not (value or "").strip():
                raise Invalid(
                    f"{field}_required",
                    f"resolving a {_words(ticket.kind)} needs its {_words(field)}",
                    field,
                )
    TICKETS.change(
        conn, ticket, status="resolved", resolved_at=now, root_cause=cause, corrective_action=action
    )


def reopen(conn: Connection, number: str) -> None:
    """Back to open: the resolution clock runs again against the same due date."""
    TICKETS.move(conn, number, "open", ("resolved",), resolved_at=None)


def close(
    conn: Connection,
    number: str,
    now: datetime,
    *,
    satisfaction: int | None = None,
    feedback: str | None = None,
) -> None:
    """Close a resolved ticket with the customer's rating (1-5) and feedback, if they gave it."""
    TICKETS.close(conn, number, ("resolved",), now, satisfaction, feedback)


def record_feedback(
    conn: Connection, number: str, satisfaction: int, feedback: str | None = None
) -> None:
    """The customer's rating given after the ticket closed: once, if none was recorded."""
    ticket = TICKETS.locked(conn, number)
    if ticket.status != "closed":
        raise Conflict("not_closed", f"ticket {number} is {ticket.status}; close it with feedback")
    if ticket.satisfaction is not None or ticket.feedback is not None:
        raise Conflict("feedback_recorded", f"ticket {number} has its feedback already")
    check_rating(satisfaction)
    TICKETS.change(conn, ticket, satisfaction=satisfaction, feedback=feedback)


def _not_closed(ticket: Any) -> None:
    if ticket.status == "closed":
        raise Conflict("ticket_closed", f"ticket {ticket.number} is closed")


# -- reading ---------------------------------------------------------------------------------


def _summary() -> Select[Any]:
    return (
        select(
            K.id,
            K.number,
            customers.c.code.label("customer"),
            K.contact_id,
            contacts.c.name.label("contact"),
            K.kind,
            K.channel,
            K.priority,
            K.status,
            K.subject,
            sales_orders.c.number.label("sales_order"),
            items.c.code.label("item"),
            K.lot,
            users.c.name.label("assignee"),
            K.opened_at,
            K.response_due,
            K.resolution_due,
            K.first_response_at,
            K.resolved_at,
            K.closed_at,
            K.satisfaction,
        )
        .join(customers, customers.c.id == K.customer_id)
        .outerjoin(contacts, contacts.c.id == K.contact_id)
        .outerjoin(sales_orders, sales_orders.c.id == K.sales_order_id)
        .outerjoin(items, items.c.id == K.item_id)
        .outerjoin(users, users.c.id == K.assignee_id)
    )


def list_tickets(
    conn: Connection,
    now: datetime,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
    status: Sequence[str] = (),
    priority: Sequence[str] = (),
    assignee: str | None = None,
    customer: str | None = None,
    breached: bool | None = None,
) -> list[dict[str, Any]]:
    """Tickets by resolution due date (then number), with their SLA flags as of ``now``.

    ``after`` is the (resolution_due, number) of the last row of the page before.
    """
    query = _summary().order_by(K.resolution_due, K.number).limit(limit)
    if after is not None:
        due, number = after
        query = query.where(
            or_(K.resolution_due > due, and_(K.resolution_due == due, K.number > number))
        )
    if status:
        query = query.where(K.status.in_(status))
    if priority:
        query = query.where(K.priority.in_(priority))
    if assignee is not None:
        query = query.where(
            K.assignee_id == select(users.c.id).where(users.c.name == assignee).scalar_subquery()
        )
    if customer is not None:
        query = query.where(K.customer_id == id_of_code(customers, customer))
    if breached is not None:
        query = query.where(sla.breached(now) if breached else not_(sla.breached(now)))
    return [{**record(r, drop=("id",)), **sla.flags(r, now)} for r in conn.execute(query)]


def detail(conn: Connection, number: str, now: datetime) -> dict[str, Any]:
    """A ticket with its SLA flags, its notes oldest first and its repair orders."""
    row = get(
        conn,
        _summary()
        .add_columns(K.description, K.root_cause, K.corrective_action, K.feedback)
        .where(K.number == number),
        "ticket",
        number,
    )
    repairs = conn.execute(
        select(
            repair_orders.c.number,
            repair_orders.c.kind,
            repair_orders.c.status,
            technicians.c.code.label("technician"),
            repair_orders.c.under_warranty,
            repair_orders.c.opened_at,
        )
        .outerjoin(technicians, technicians.c.id == repair_orders.c.technician_id)
        .where(repair_orders.c.ticket_id == row.id)
        .order_by(repair_orders.c.number)
    )
    return {
        **record(row, drop=("id",)),
        **sla.flags(row, now),
        "notes": _notes(conn, N.ticket_id == row.id),
        "repair_orders": dicts(repairs),
    }


def _notes(conn: Connection, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(N.id, users.c.name.label("author"), N.body, N.public, N.at)
        .join(users, users.c.id == N.author_id)
        .where(where)
        .order_by(N.at, N.id)
    )
    return dicts(rows)


# -- helpers -----------------------------------------------------------------------------------


def _words(name: str) -> str:
    return name.replace("_", " ")
