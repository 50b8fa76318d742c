"""SLA policies: the hours to answer and to resolve a ticket, per priority, and breaches.

Breaches are read, not stored: a response is breached when the first public reply came
after its due, or none came and the due has passed; the resolution likewise with
``resolved_at``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, literal, or_, select, update

from central.db.aftersales import PRIORITIES, service_tickets, sla_policies
from central.db.rows import dicts
from central.db.schema import UtcDateTime
from central.orders.errors import Conflict, Invalid, NotFound

__all__ = ["breached", "due_dates", "flags", "policies", "set_policy"]

K = service_tickets.c


def policies(conn: Connection) -> list[dict[str, Any]]:
    """Every priority's hours, most urgent first."""
    rows = conn.execute(select(sla_policies)).all()
    return sorted(dicts(rows), key=lambda r: -PRIORITIES.index(r["priority"]))


def set_policy(
    conn: Connection, priority: str, response_hours: float, resolution_hours: float
) -> dict[str, Any]:
    """Change one priority's hours; tickets opened before keep their due dates."""
    if priority not in PRIORITIES:
        raise NotFound("SLA policy", priority)
    if not (0 < response_hours <= resolution_hours):
        raise Invalid(
            "invalid_hours",
            "response_hours must be positive and at most resolution_hours",
            "response_hours",
        )
    values = {"response_hours": response_hours, "resolution_hours": resolution_hours}
    done = conn.execute(
        update(sla_policies).where(sla_policies.c.priority == priority).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(sla_policies).values(priority=priority, **values))
    return {"priority": priority, **values}


def due_dates(conn: Connection, priority: str, opened_at: datetime) -> tuple[datetime, datetime]:
    """When a ticket of ``priority`` opened at ``opened_at`` must be answered and resolved."""
    policy = conn.execute(
        select(sla_policies).where(sla_policies.c.priority == priority)
    ).one_or_none()
    if policy is None:
        raise Conflict("no_sla_policy", f"there is no SLA policy for priority {priority!r}")
    return (
        opened_at + timedelta(hours=policy.response_hours),
        opened_at + timedelta(hours=policy.resolution_hours),
    )


def flags(row: Any, now: datetime) -> dict[str, Any]:
    """Breaches as of ``now``, and minutes left to each due (negative: overdue; None: met)."""
    # resolving answers the customer too (say, a call fixed it with no reply written)
    answered, resolved = row.first_response_at or row.resolved_at, row.resolved_at
    return {
        "response_breached": (answered or now) > row.response_due,
        "resolution_breached": (resolved or now) > row.resolution_due,
        "response_due_in_minutes": None if answered else _minutes(row.response_due - now),
        "resolution_due_in_minutes": None if resolved else _minutes(row.resolution_due - now),
    }


def breached(now: datetime) -> ColumnElement[bool]:
    """``flags``' breaches as a condition on ``service_tickets``, to filter a list by."""
    at = literal(now, UtcDateTime())
    return or_(
        func.coalesce(K.first_response_at, K.resolved_at, at) > K.response_due,
        func.coalesce(K.resolved_at, at) > K.resolution_due,
    )


def _minutes(delta: timedelta) -> int:
    return math.floor(delta.total_seconds() / 60)
