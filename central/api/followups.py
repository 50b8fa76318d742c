"""Follow-ups: tasks for sales people, and the "my day" each of them starts from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from sqlalchemy import Connection, select

from central.api.deps import MAX_ID, CurrentUser, Db, PagedById, Write, page_of, writer
from central.api.rows import Body, Code, Instant, dicts
from central.auth import SALES
from central.crm import followups as flow
from central.db.crm import opportunities, quotes, tasks
from central.db.domain import customers, users
from central.orders.errors import Invalid

router = APIRouter(tags=["follow-ups"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
T = tasks.c
Kind = Literal["call", "email", "visit", "meeting", "renewal", "quote_follow_up", "other"]


class TaskFields(Body):
    kind: Kind = "call"
    title: str = Field(min_length=1, max_length=200)
    due_at: Instant
    owner: str | None = Field(None, max_length=64, description="a user's name; default: you")
    customer: Code | None = None
    opportunity: Code | None = Field(None, description="its number")
    quote: Code | None = Field(None, description="its number (the latest version)")
    notes: str | None = Field(None, max_length=4000)


class TaskChanges(Body):
    """The fields given change; null unlinks a customer, opportunity or quote."""

    kind: Kind | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    due_at: Instant | None = None
    owner: str | None = Field(None, max_length=64)
    customer: Code | None = None
    opportunity: Code | None = None
    quote: Code | None = None
    notes: str | None = Field(None, max_length=4000)


@router.get("/tasks")
def list_tasks(
    db: Db,
    page: PagedById,
    owner: Annotated[str | None, Query(max_length=64, description="a user's name")] = None,
    open: Annotated[bool | None, Query(description="true: not done; false: done")] = None,
    due_before: Annotated[Instant | None, Query()] = None,
    due_from: Annotated[Instant | None, Query(description="due at or after")] = None,
) -> dict[str, Any]:
    """By id."""
    query = flow.task_query().order_by(T.id).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(T.id > page.after)
    if owner is not None:
        query = query.where(users.c.name == owner)
    if open is not None:
        query = query.where(T.done_at.is_(None) if open else T.done_at.is_not(None))
    if due_before is not None:
        query = query.where(T.due_at < due_before)
    if due_from is not None:
        query = query.where(T.due_at >= due_from)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "id")


@router.post("/tasks", status_code=201)
def create_task(body: TaskFields, write: SalesWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        values = _links(conn, body, set(TaskFields.model_fields))
        if values["owner_id"] is None:
            values["owner_id"] = write.user.id
        task_id = flow.create(conn, values, write.now)
        return flow.task(conn, task_id)

    return write(work)


@router.get("/tasks/{task_id}")
def task(task_id: TaskId, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return flow.task(conn, task_id)


@router.patch("/tasks/{task_id}")
def change_task(task_id: TaskId, body: TaskChanges, write: SalesWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        for field in ("kind", "title", "due_at", "owner"):
            if field in body.model_fields_set and getattr(body, field) is None:
                raise Invalid("required", f"{field} cannot be null", field)
        flow.update_task(conn, task_id, _links(conn, body, body.model_fields_set))
        return flow.task(conn, task_id)

    return write(work)


@router.post("/tasks/{task_id}/complete")
def complete_task(task_id: TaskId, write: SalesWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        flow.complete(conn, task_id, write.now)
        return flow.task(conn, task_id)

    return write(work)


@router.get("/my-day")
def my_day(db: Db, user: CurrentUser) -> dict[str, Any]:
    """Your overdue and today's open tasks (UTC days), opportunities closing within 7 days,
    sent quotes expiring within 7 days, and service contracts due within 30 days."""
    with db.connect() as conn:
        return {"user": user.name, **flow.my_day(conn, user.id, datetime.now(UTC))}


def _links(conn: Connection, body: TaskFields | TaskChanges, given: set[str]) -> dict[str, Any]:
    """Columns of the given fields, with names, codes and numbers resolved to ids."""
    values: dict[str, Any] = {}
    lookups: dict[str, tuple[str, Any, Any, Any]] = {
        "owner": ("owner_id", users.c.name, users.c.id, None),
        "customer": ("customer_id", customers.c.code, customers.c.id, None),
        "opportunity": ("opportunity_id", opportunities.c.number, opportunities.c.id, None),
        # a quote's number names all its versions: the task follows the latest
        "quote": ("quote_id", quotes.c.number, quotes.c.id, quotes.c.version.desc()),
    }
    for field in given:
        value = getattr(body, field)
        if field not in lookups:
            values[field] = value
            continue
        column, key, id_, latest = lookups[field]
        if value is None:
            values[column] = None
            continue
        found = conn.execute(select(id_).where(key == value).order_by(latest).limit(1)).first()
        if found is None:
            raise Invalid(f"unknown_{field}", f"no {field} {value!r}", field)
        values[column] = int(found[0])
    return values
