"""Follow-ups: tasks with an owner and a due time, and what a salesperson's day holds.

Days are UTC days: "today" runs from midnight UTC to the next.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from central.db.crm import opportunities, pipeline_stages, quotes, tasks
from central.db.domain import customers, sales_orders, users
from central.db.rows import dicts, get
from central.orders.errors import Conflict

__all__ = [
    "CLOSING_DAYS",
    "QUOTE_DAYS",
    "RENEWAL_DAYS",
    "complete",
    "create",
    "my_day",
    "task",
    "task_query",
    "update_task",
]

CLOSING_DAYS = 7  # opportunities expected to close this soon
QUOTE_DAYS = 7  # sent quotes whose validity ends this soon
RENEWAL_DAYS = 30  # service contracts due this soon: the renewal window
T, Op = tasks.c, opportunities.c


def task_query() -> Any:
    """Tasks with the codes of what they link to instead of ids."""
    return (
        select(
            T.id,
            users.c.name.label("owner"),
            T.kind,
            T.title,
            T.due_at,
            customers.c.code.label("customer"),
            Op.number.label("opportunity"),
            quotes.c.number.label("quote"),
            T.notes,
            T.done_at,
            T.created_at,
        )
        .join(users, users.c.id == T.owner_id)
        .outerjoin(customers, customers.c.id == T.customer_id)
        .outerjoin(opportunities, Op.id == T.opportunity_id)
        .outerjoin(quotes, quotes.c.id == T.quote_id)
    )


def task(conn: Connection, task_id: int) -> dict[str, Any]:
    return dict(get(conn, task_query().where(T.id == task_id), "task", task_id)._mapping)


def create(conn: Connection, values: dict[str, Any], now: datetime) -> int:
    """A new task (``values``: its columns, links resolved to ids); returns its id."""
    result = conn.execute(insert(tasks).values(**values, created_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_task(conn: Connection, task_id: int, changes: dict[str, Any]) -> None:
    get(conn, select(T.id).where(T.id == task_id), "task", task_id)
    if changes:
        conn.execute(update(tasks).where(T.id == task_id).values(**changes))


def complete(conn: Connection, task_id: int, now: datetime) -> None:
    """Mark a task done; done once, so a second click is a 409, not a new time."""
    row = get(conn, select(T.done_at).where(T.id == task_id), "task", task_id)
    if row.done_at is not None:
        raise Conflict("done", f"task {task_id} is done already", "id")
    conn.execute(update(tasks).where(T.id == task_id).values(done_at=now))


def my_day(conn: Connection, user_id: int, now: datetime) -> dict[str, Any]:
    """What ``user_id`` has on today: overdue and today's open tasks, their opportunities
    expected to close within a week (or past it and still open), their sent quotes expiring
    within a week, and service contracts of their customers due within the renewal window."""
    now = now.astimezone(UTC)
    today = now.date()
    tomorrow = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
    open_tasks = dicts(
        conn.execute(
            task_query()
            .where(T.owner_id == user_id, T.done_at.is_(None), T.due_at < tomorrow)
            .order_by(T.due_at, T.id)
        )
    )
    S = sales_orders.c
    Q = quotes.c
    closing = conn.execute(
        select(
            Op.number,
            Op.name,
            customers.c.code.label("customer"),
            Op.stage,
            Op.amount_cents,
            Op.expected_close,
        )
        .join(customers, customers.c.id == Op.customer_id)
        .join(pipeline_stages, pipeline_stages.c.code == Op.stage)
        .where(
            Op.owner_id == user_id,
            pipeline_stages.c.outcome.is_(None),
            Op.expected_close <= today + timedelta(days=CLOSING_DAYS),
        )
        .order_by(Op.expected_close, Op.id)
        .limit(100)
    )
    expiring = conn.execute(
        select(
            Q.number,
            Q.version,
            customers.c.code.label("customer"),
            Q.valid_until,
            Q.sent_at,
        )
        .join(customers, customers.c.id == Q.customer_id)
        .where(
            Q.status == "sent",
            Q.valid_until.between(today, today + timedelta(days=QUOTE_DAYS)),
            or_(customers.c.owner_id == user_id, Q.created_by == user_id),
        )
        .order_by(Q.valid_until, Q.number)
        .limit(100)
    )
    renewals = conn.execute(
        select(S.number, customers.c.code.label("customer"), S.status, S.due_date)
        .join(customers, customers.c.id == S.customer_id)
        .where(
            customers.c.owner_id == user_id,
            S.type == "service_contract",
            S.status != "cancelled",
            S.due_date.between(today, today + timedelta(days=RENEWAL_DAYS)),
        )
        .order_by(S.due_date, S.number)
        .limit(100)
    )
    return {
        "date": today,
        "overdue": [t for t in open_tasks if t["due_at"] < now],
        "today": [t for t in open_tasks if t["due_at"] >= now],
        "closing": dicts(closing),
        "quotes_expiring": dicts(expiring),
        "renewals": dicts(renewals),
    }
