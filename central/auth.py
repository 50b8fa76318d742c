"""Who may use the order service: named users with a bearer token and roles.

A token is shown once, when its user is made; the database keeps only its sha256, so a
copy of the database hands out no tokens. The roles each kind of write needs are data
here, read by the API.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from central.db.domain import ROLES, users

__all__ = [
    "CREDIT_OVERRIDE",
    "DISCOUNT_APPROVAL",
    "PLANNING",
    "ROLES",
    "SALES",
    "SERVICE",
    "User",
    "UserError",
    "authenticate",
    "create_user",
    "hash_token",
]

# Who may write what; any authenticated user may read.
SALES = ("sales", "admin")  # customers, contacts, sales orders, shipments, payments
SERVICE = ("service", "admin")  # tickets, repair orders, technicians, reply templates
PLANNING = ("planner", "admin")  # items, calendars, work centers, routings, BOMs, ...
DISCOUNT_APPROVAL = ("admin",)  # sending a quote discounted beyond sales.discount_approval_pct
CREDIT_OVERRIDE = ("admin",)  # confirming an order its customer's credit would hold


class UserError(ValueError):
    """A user that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    roles: frozenset[str]

    def may(self, roles: Iterable[str]) -> bool:
        """True when the user has one of ``roles``."""
        return not self.roles.isdisjoint(roles)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(conn: Connection, name: str, roles: Iterable[str]) -> str:
    """Make an active user with ``roles``; returns its token, which is not stored."""
    wanted = list(dict.fromkeys(roles))
    if not name.strip():
        raise UserError("a user needs a name")
    if not wanted:
        raise UserError(f"a user needs at least one role of {', '.join(ROLES)}")
    unknown = [r for r in wanted if r not in ROLES]
    if unknown:
        raise UserError(f"unknown role {', '.join(unknown)}: the roles are {', '.join(ROLES)}")
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise UserError(f"user {name!r} exists")
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(users).values(
            name=name,
            roles=wanted,
            token_hash=hash_token(token),
            active=True,
            created_at=datetime.now(UTC),
        )
    )
    return token


def authenticate(conn: Connection, token: str) -> User | None:
    """The active user this token belongs to, or None."""
    row = conn.execute(
        select(users.c.id, users.c.name, users.c.roles).where(
            users.c.token_hash == hash_token(token), users.c.active.is_(True)
        )
    ).first()
    if row is None:
        return None
    return User(id=row.id, name=row.name, roles=frozenset(row.roles))
