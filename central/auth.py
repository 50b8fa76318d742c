"""Who may use the order service: named users with a bearer token and roles.

A token is shown once, when its user is made; the database keeps only its sha256, so a
copy of the database hands out no tokens. The roles each kind of write needs are data
here, read by the API.

Two kinds of bearer token: a user's API token (long-lived, for integrations; it may have
an end date) and a session token a page gets for it at sign-in, which ends after some
hours or sooner when left idle. Only an API token opens a session, so a session cannot
be stretched by chaining.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from central.db.domain import ROLES, user_sessions, users

__all__ = [
    "CREDIT_OVERRIDE",
    "DISCOUNT_APPROVAL",
    "PLANNING",
    "ROLES",
    "SALES",
    "SERVICE",
    "Session",
    "User",
    "UserError",
    "authenticate",
    "create_user",
    "end_session",
    "hash_token",
    "open_session",
    "revoke_user",
    "rotate_user",
    "touch_session",
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
    session: Session | None = None  # how a page signed in; None for an API token

    def may(self, roles: Iterable[str]) -> bool:
        """True when the user has one of ``roles``."""
        return not self.roles.isdisjoint(roles)


@dataclass(frozen=True)
class Session:
    id: int
    expires_at: datetime
    idle_until: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    conn: Connection, name: str, roles: Iterable[str], *, expires_at: datetime | None = None
) -> str:
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
            expires_at=expires_at,
        )
    )
    return token


def rotate_user(conn: Connection, name: str, *, expires_at: datetime | None = None) -> str:
    """A new token for ``name`` (active again); the old token and its sessions stop working."""
    user_id = _user_id(conn, name)
    token = secrets.token_urlsafe(32)
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(token_hash=hash_token(token), active=True, expires_at=expires_at)
    )
    conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id))
    return token


def revoke_user(conn: Connection, name: str) -> None:
    """Deactivate ``name``: its token and every session it opened stop working at once."""
    user_id = _user_id(conn, name)
    conn.execute(update(users).where(users.c.id == user_id).values(active=False))
    conn.execute(delete(user_sessions).where(user_sessions.c.user_id == user_id))


def _user_id(conn: Connection, name: str) -> int:
    user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
    if user_id is None:
        raise UserError(f"no user {name!r}")
    return int(user_id)


def _live_api_token(token: str, now: datetime) -> Any:
    return (
        select(users.c.id, users.c.name, users.c.roles, users.c.expires_at)
        .where(users.c.token_hash == hash_token(token), users.c.active.is_(True))
        .where(or_(users.c.expires_at.is_(None), users.c.expires_at > now))
    )


def authenticate(conn: Connection, token: str, now: datetime | None = None) -> User | None:
    """The active user this API token or live session token belongs to, or None."""
    now = now or datetime.now(UTC)
    row = conn.execute(_live_api_token(token, now)).first()
    if row is not None:
        return User(id=row.id, name=row.name, roles=frozenset(row.roles))
    row = conn.execute(
        select(
            users.c.id,
            users.c.name,
            users.c.roles,
            user_sessions.c.id.label("session_id"),
            user_sessions.c.expires_at,
            user_sessions.c.idle_until,
        )
        .join(users, users.c.id == user_sessions.c.user_id)
        .where(user_sessions.c.token_hash == hash_token(token), users.c.active.is_(True))
        .where(user_sessions.c.expires_at > now, user_sessions.c.idle_until > now)
    ).first()
    if row is None:
        return None
    session = Session(row.session_id, row.expires_at, row.idle_until)
    return User(id=row.id, name=row.name, roles=frozenset(row.roles), session=session)


def open_session(
    conn: Connection, api_token: str, now: datetime, lifetime: timedelta, idle: timedelta
) -> tuple[str, User, datetime] | None:
    """A new session for the user of ``api_token``: its token, user and end; None if refused."""
    row = conn.execute(_live_api_token(api_token, now)).first()
    if row is None:
        return None
    # sessions that ended are of no use to anyone: clear them on the way
    conn.execute(
        delete(user_sessions).where(
            or_(user_sessions.c.expires_at <= now, user_sessions.c.idle_until <= now)
        )
    )
    token = secrets.token_urlsafe(32)
    # a session ends with the API token it was opened with, if that ends sooner
    expires_at = now + lifetime
    if row.expires_at is not None:
        expires_at = min(expires_at, row.expires_at)
    session_id = conn.execute(
        insert(user_sessions)
        .values(
            user_id=row.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires_at,
            idle_until=min(now + idle, expires_at),
        )
        .returning(user_sessions.c.id)
    ).scalar_one()
    session = Session(session_id, expires_at, min(now + idle, expires_at))
    return token, User(row.id, row.name, frozenset(row.roles), session), expires_at


def touch_session(conn: Connection, session: Session, now: datetime, idle: timedelta) -> None:
    """Move the session's idle end on to ``now + idle`` (never past its expiry)."""
    conn.execute(
        update(user_sessions)
        .where(user_sessions.c.id == session.id)
        .values(idle_until=min(now + idle, session.expires_at))
    )


def end_session(conn: Connection, session: Session) -> None:
    """Sign out: the session token stops working."""
    conn.execute(delete(user_sessions).where(user_sessions.c.id == session.id))
