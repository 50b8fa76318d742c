"""Service tickets with their SLA flags, notes and status; reply templates; SLA policies.

What a ticket may do is the domain's (central.aftersales.tickets); this module takes the
request, checks who may and answers the ticket as it is afterwards.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import Connection, delete, insert, select, update

from central.aftersales import replies, sla, tickets
from central.api.deps import MAX_ID, Db, Paged, Write, page_of, writer
from central.api.rows import MAX_TEXT, Body, Code, CodeInPath, dicts, get, record, refuse_duplicate
from central.auth import SERVICE
from central.db.aftersales import reply_templates
from protocols.api import ApiError

router = APIRouter(tags=["service"])
MAX_HOURS = 87_600  # ten years: beyond it a due date is a typo
ServiceWrite = Annotated[Write, Depends(writer(SERVICE))]
AdminWrite = Annotated[Write, Depends(writer(("admin",)))]
T = reply_templates.c

Kind = Literal["complaint", "inquiry", "warranty_claim"]
Channel = Literal["phone", "email", "chat", "portal"]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["open", "in_progress", "waiting", "resolved", "closed"]
Rating = Annotated[int, Field(ge=1, le=5, description="the customer's satisfaction, 1 to 5")]


class SlaPolicy(Body):
    response_hours: float = Field(gt=0, le=MAX_HOURS, description="to the first public reply")
    resolution_hours: float = Field(gt=0, le=MAX_HOURS, description="to resolved")


class NewTicket(Body):
    customer: Code
    contact_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="one of the customer's contacts"
    )
    kind: Kind
    channel: Channel
    priority: Priority = "normal"
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=MAX_TEXT)
    sales_order: Code | None = None
    item: Code | None = Field(None, description="default: the item a shipped lot or serial is of")
    lot: str | None = Field(None, min_length=1, max_length=64, description="lot or serial")
    assignee: str | None = Field(None, max_length=64, description="a user with service or admin")


class PriorityChange(Body):
    priority: Priority


class Assignment(Body):
    assignee: str | None = Field(max_length=64, description="a user name; null: nobody")


class NewNote(Body):
    body: str = Field(min_length=1, max_length=MAX_TEXT)
    public: bool = Field(False, description="a reply to the customer; false: an internal note")


class Resolution(Body):
    root_cause: str | None = Field(None, max_length=MAX_TEXT)
    corrective_action: str | None = Field(None, max_length=MAX_TEXT)


class Closing(Body):
    satisfaction: Rating | None = None
    feedback: str | None = Field(None, max_length=MAX_TEXT)


class Feedback(Body):
    satisfaction: Rating
    feedback: str | None = Field(None, max_length=MAX_TEXT)


class TemplateFields(Body):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="may hold {customer}, {contact}, {ticket} and {subject}",
    )
    keywords: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field([], max_length=100)


class NewTemplate(TemplateFields):
    code: Code


# -- SLA policies ----------------------------------------------------------------------------


@router.get("/sla-policies")
def list_sla_policies(db: Db) -> list[dict[str, Any]]:
    """Hours to the first answer and to resolution, per priority, most urgent first."""
    with db.connect() as conn:
        return sla.policies(conn)


@router.put("/sla-policies/{priority}")
def replace_sla_policy(priority: str, body: SlaPolicy, write: AdminWrite) -> dict[str, Any]:
    """Tickets opened from now on get these hours; open ones keep their due dates."""
    return write(
        lambda conn: sla.set_policy(conn, priority, body.response_hours, body.resolution_hours)
    )


# -- tickets -----------------------------------------------------------------------------------


@router.get("/tickets")
def list_tickets(
    db: Db,
    page: Paged,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=64, description="user name")] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    breached: Annotated[
        bool | None, Query(description="true: response or resolution SLA breached")
    ] = None,
) -> dict[str, Any]:
    """Tickets by resolution due date, with SLA flags as of now.

    ``next`` is an opaque cursor here: pass it back as ``after``.
    """
    with db.connect() as conn:
        rows = tickets.list_tickets(
            conn,
            datetime.now(UTC),
            limit=page.limit + 1,
            after=None if page.after is None else _key(page.after),
            status=status or (),
            priority=priority or (),
            assignee=assignee,
            customer=customer,
            breached=breached,
        )
    for row in rows:
        row["cursor"] = _cursor(row["resolution_due"], row["number"])
    result = page_of(rows, page, "cursor")
    for row in result["items"]:
        del row["cursor"]
    return result


@router.post("/tickets", status_code=201)
def open_ticket(body: NewTicket, write: ServiceWrite) -> dict[str, Any]:
    """Open a ticket: its response and resolution due dates come from its priority's SLA."""

    def work(conn: Connection) -> dict[str, Any]:
        fields = body.model_dump(exclude={"assignee"})
        number = tickets.open_ticket(conn, now=write.now, **fields)
        if body.assignee is not None:
            tickets.assign(conn, number, body.assignee)
        return tickets.detail(conn, number, write.now)

    return write(work)


@router.get("/tickets/{number}")
def ticket(number: CodeInPath, db: Db) -> dict[str, Any]:
    """A ticket with SLA flags as of now, its notes and its repair orders."""
    with db.connect() as conn:
        return tickets.detail(conn, number, datetime.now(UTC))


def _change(
    write: Write, number: str, change: Callable[..., None], *args: Any, **kwargs: Any
) -> Any:
    """``change(conn, number, *args, **kwargs)``, then the ticket as it is afterwards."""

    def work(conn: Connection) -> dict[str, Any]:
        change(conn, number, *args, **kwargs)
        return tickets.detail(conn, number, write.now)

    return write(work)


@router.post("/tickets/{number}/priority")
def change_priority(number: CodeInPath, body: PriorityChange, write: ServiceWrite) -> Any:
    """A new priority: both due dates are recomputed from when the ticket was opened."""
    return _change(write, number, tickets.set_priority, body.priority)


@router.post("/tickets/{number}/assign")
def assign(number: CodeInPath, body: Assignment, write: ServiceWrite) -> Any:
    return _change(write, number, tickets.assign, body.assignee)


@router.post("/tickets/{number}/notes", status_code=201)
def add_note(number: CodeInPath, body: NewNote, write: ServiceWrite) -> dict[str, Any]:
    """A public reply (the first answers the ticket) or an internal note; answers the note."""
    return write(
        lambda conn: tickets.add_note(
            conn, number, write.user.id, body.body, body.public, write.now
        )
    )


@router.post("/tickets/{number}/start")
def start(number: CodeInPath, write: ServiceWrite) -> Any:
    return _change(write, number, tickets.start)


@router.post("/tickets/{number}/wait")
def wait(number: CodeInPath, write: ServiceWrite) -> Any:
    return _change(write, number, tickets.wait)


@router.post("/tickets/{number}/resolve")
def resolve(number: CodeInPath, write: ServiceWrite, body: Resolution | None = None) -> Any:
    """Complaints and warranty claims need root_cause and corrective_action."""
    body = body or Resolution()
    return _change(write, number, tickets.resolve, write.now, **body.model_dump())


@router.post("/tickets/{number}/reopen")
def reopen(number: CodeInPath, write: ServiceWrite) -> Any:
    return _change(write, number, tickets.reopen)


@router.post("/tickets/{number}/close")
def close(number: CodeInPath, write: ServiceWrite, body: Closing | None = None) -> Any:
    body = body or Closing()
    return _change(write, number, tickets.close, write.now, **body.model_dump())


@router.post("/tickets/{number}/feedback")
def feedback(number: CodeInPath, body: Feedback, write: ServiceWrite) -> Any:
    """The customer's rating after the ticket closed: once, when none was recorded."""
    return _change(write, number, tickets.record_feedback, **body.model_dump())


@router.get("/tickets/{number}/replies/{template_code}")
def reply(number: CodeInPath, template_code: CodeInPath, db: Db) -> dict[str, Any]:
    """A reply template filled in for this ticket."""
    with db.connect() as conn:
        return replies.render_reply(conn, number, template_code)


# -- reply templates -----------------------------------------------------------------------------


@router.get("/reply-templates")
def list_reply_templates(
    db: Db,
    page: Paged,
    q: Annotated[
        str | None,
        Query(max_length=200, description="words each found in title, body or keywords"),
    ] = None,
) -> dict[str, Any]:
    """Templates by code; with ``q``, the best ``limit`` matches (keyword hits first) and no
    further page."""
    with db.connect() as conn:
        if q is not None and q.split():
            return {"items": replies.search_templates(conn, q, page.limit), "next": None}
        query = select(T.code, T.title, T.body, T.keywords).order_by(T.code).limit(page.limit + 1)
        if page.after is not None:
            query = query.where(T.code > page.after)
        return page_of(dicts(conn.execute(query)), page, "code")


@router.post("/reply-templates", status_code=201)
def create_reply_template(body: NewTemplate, write: ServiceWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        refuse_duplicate(conn, T.code, body.code, "reply template")
        conn.execute(insert(reply_templates).values(**_fields(body), code=body.code))
        return _template(conn, body.code)

    return write(work)


@router.get("/reply-templates/{code}")
def reply_template(code: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return _template(conn, code)


@router.put("/reply-templates/{code}")
def replace_reply_template(
    code: CodeInPath, body: TemplateFields, write: ServiceWrite
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        _template(conn, code)
        conn.execute(update(reply_templates).where(T.code == code).values(**_fields(body)))
        return _template(conn, code)

    return write(work)


@router.delete("/reply-templates/{code}", status_code=204)
def delete_reply_template(code: CodeInPath, write: ServiceWrite) -> None:
    def work(conn: Connection) -> None:
        _template(conn, code)
        conn.execute(delete(reply_templates).where(T.code == code))

    write(work)


def _fields(body: TemplateFields) -> dict[str, Any]:
    # keywords once each, as given: search compares them in any case
    keywords = list(dict.fromkeys(k.strip() for k in body.keywords if k.strip()))
    return {"title": body.title, "body": body.body, "keywords": keywords}


def _template(conn: Connection, code: str) -> dict[str, Any]:
    query = select(T.code, T.title, T.body, T.keywords).where(T.code == code)
    return record(get(conn, query, "reply template", code))


def _cursor(due: datetime, number: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([due.isoformat(), number])).decode()


def _key(cursor: str) -> tuple[datetime, str]:
    try:
        due, number = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(due, str) and isinstance(number, str):
            at = datetime.fromisoformat(due)
            if at.tzinfo is not None:
                return at, number
    except (ValueError, TypeError):
        pass
    problem = "not a cursor this list gave out"
    details = [{"where": "query.after", "message": problem}]
    raise ApiError(422, "invalid_request", f"query.after: {problem}", details)
