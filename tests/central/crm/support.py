"""What the CRM domain tests share: users and a customer made straight in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from central.auth import create_user
from central.db.domain import customers, users

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def user(conn: Connection, name: str) -> int:
    create_user(conn, name, ["sales"])
    return int(conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one())


def customer(conn: Connection, code: str = "ACME", **fields: Any) -> int:
    values = {"code": code, "name": "Acme Pumps", "created_at": NOW, **fields}
    return int(conn.execute(insert(customers).values(**values)).inserted_primary_key[0])  # type: ignore[index]
