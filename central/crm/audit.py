"""Who changed what and when: every change to a customer, contact, opportunity, quote or
sales order, kept with the fields before and after, in the transaction that makes it.

``record`` takes the row as it was and as it is (plain dicts, ``None`` for "did not
exist") and stores only the fields that differ, so a save that changed nothing leaves no
trace. Values are stored as JSON (dates and times as ISO strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, insert, select

from central.db.crm import AUDITED, audit_log
from central.db.domain import users
from central.db.rows import dicts
from central.orders.errors import Invalid

A = audit_log.c
IGNORED = frozenset({"id", "name_key"})  # internal: nobody reads them as a change


def changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field that differs."""
    old, new = before or {}, after or {}
    fields = (set(old) | set(new)) - IGNORED
    found = {}
    for field in sorted(fields):
        a, b = to_jsonable_python(old.get(field)), to_jsonable_python(new.get(field))
        if a != b:
            found[field] = [a, b]
    return found


def record(
    conn: Connection,
    entity: str,
    key: str,
    action: str,
    user_id: int | None,
    now: datetime,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    always: bool = False,
) -> None:
    """Keep a change of ``entity`` ``key``; nothing when no field changed, unless ``always``
    (a status move such as ``confirmed`` is worth a line even with no field listed)."""
    if entity not in AUDITED:
        raise ValueError(f"entity {entity!r}: one of {', '.join(AUDITED)}")
    found = changes(before, after)
    if found or always:
        conn.execute(
            insert(audit_log).values(
                entity=entity, key=key, action=action, user_id=user_id, at=now, changes=found
            )
        )


def history(
    conn: Connection, entity: str, key: str, *, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """The changes of ``entity`` ``key``, newest first (``id`` pages them)."""
    if entity not in AUDITED:
        raise Invalid("unknown_entity", f"entity {entity!r}: one of {', '.join(AUDITED)}", "entity")
    query = (
        select(A.id, A.action, users.c.name.label("user"), A.at, A.changes)
        .outerjoin(users, users.c.id == A.user_id)
        .where(A.entity == entity, A.key == key)
        .order_by(A.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(A.id < before_id)
    return dicts(conn.execute(query))
