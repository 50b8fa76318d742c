"""What a route needs: who is asking, a unit of work that may be retried, a page.

CurrentUser             the user of the bearer token (an API token or a page's session)
Db                      the engine, once the bearer token is checked (reads)
writer(roles)           a Write for users with one of ``roles`` (writes)
Paged / PagedById       ``limit`` and ``after`` of a keyset page
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from central.api import idempotency
from central.api.errors import Forbidden, Unauthenticated
from central.auth import User, authenticate, touch_session
from central.db import reading, writing
from central.service import CentralSync
from protocols.api import ApiError

MAX_LIMIT = 500
MAX_ID = 2**63 - 1  # the largest id (or any BIGINT) a database takes: beyond it, 422 not 500

_bearer = HTTPBearer(
    auto_error=False,
    description="a user's API token, as `floorsync central user add` printed it, or a"
    " session token from `POST /api/v1/sessions`",
)
UNKNOWN_TOKEN = "the token is unknown, expired or its user inactive"
TOUCH_EVERY = timedelta(minutes=1)


def engine_of(request: Request) -> Engine:
    return sync_of(request).engine


def sync_of(request: Request) -> CentralSync:
    sync: CentralSync = request.app.state.sync
    return sync


Sync = Annotated[CentralSync, Depends(sync_of)]


def now_of(request: Request) -> datetime:
    """The time: the app's ``state.clock`` when a test set one."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return datetime.now(UTC) if clock is None else clock()


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise Unauthenticated("this needs a bearer token: Authorization: Bearer <token>")
    engine, now = engine_of(request), now_of(request)
    with reading(engine).connect() as conn:
        user = authenticate(conn, credentials.credentials, now)
    if user is None:
        raise Unauthenticated(UNKNOWN_TOKEN, invalid_token=True)
    if user.session is not None:
        idle = timedelta(minutes=sync_of(request).settings.auth.idle_minutes)
        # a session in use stays signed in; written at most once a minute, not on every read
        if user.session.idle_until - now < idle - min(TOUCH_EVERY, idle / 10):
            with writing(engine).begin() as conn:
                touch_session(conn, user.session, now, idle)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _reader(request: Request, _: CurrentUser) -> Engine:
    # On SQLite, reads begin deferred and so never wait for a writer (WAL).
    return reading(engine_of(request))


Db = Annotated[Engine, Depends(_reader)]


def reader(roles: Sequence[str]) -> Callable[..., Any]:
    """A dependency giving the engine to users with one of ``roles`` (403 naming them):
    for what only they may read, such as the sales pipeline and its prices."""

    def dependency(request: Request, user: CurrentUser) -> Engine:
        if not user.may(roles):
            raise Forbidden(f"{request.method} {request.url.path}", roles)
        return reading(engine_of(request))

    return dependency


# the sales pipeline (leads, opportunities, forecasts, quotes): deals and prices are sales'
SalesDb = Annotated[Engine, Depends(reader(("sales", "admin")))]


class Write:
    """One request's unit of work: its effect, and its answer under its key, commit together."""

    def __init__(
        self,
        engine: Engine,
        user: User,
        key: str | None,
        request_hash: str,
        status: int,
        response: Response,
    ) -> None:
        self.engine, self.user, self.key = engine, user, key
        self.request_hash, self.status, self.response = request_hash, status, response
        self.now = datetime.now(UTC)
        self.replayed = False

    def __call__(self, work: Callable[[Connection], Any]) -> Any:
        """Run ``work`` in one transaction and return its answer as JSON data."""
        try:
            return self._once(work)
        except IntegrityError:
            # Another request with this key committed first: its answer is the answer.
            if self.key is None:
                raise
            with reading(self.engine).connect() as conn:
                stored = idempotency.recall(conn, self.user.id, self.key)
            if stored is None:
                raise
            return self._replay(stored)

    def _once(self, work: Callable[[Connection], Any]) -> Any:
        # On SQLite, BEGIN IMMEDIATE: this transaction reads before it writes.
        with writing(self.engine).begin() as conn:
            if self.key is not None:
                stored = idempotency.recall(conn, self.user.id, self.key)
                if stored is not None:
                    return self._replay(stored)
            # JSON data as FastAPI would send it, so a replay is the same to the byte
            answer = to_jsonable_python(work(conn))
            if self.key is not None:
                idempotency.remember(
                    conn,
                    self.user.id,
                    self.key,
                    self.request_hash,
                    self.status,
                    answer,
                    self.now,
                )
        return answer

    def _replay(self, stored: Any) -> Any:
        if stored.request_hash != self.request_hash:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request; use a new key",
                {"field": "Idempotency-Key"},
            )
        self.replayed = True
        self.response.status_code = stored.status
        return stored.response


def writer(roles: Sequence[str]) -> Callable[..., Any]:
    """A dependency giving a Write to users with one of ``roles`` (403 naming them otherwise)."""

    async def dependency(
        request: Request,
        response: Response,
        user: CurrentUser,
        idempotency_key: Annotated[
            str | None,
            Header(
                min_length=1,
                max_length=128,
                description="retrying with the same key returns the first answer",
            ),
        ] = None,
    ) -> Write:
        route = request.scope["route"]
        if not user.may(roles):
            raise Forbidden(f"{request.method} {request.url.path}", roles)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        request_hash = idempotency.fingerprint(request.method, target, await request.body())
        status = route.status_code or 200
        return Write(engine_of(request), user, idempotency_key, request_hash, status, response)

    return dependency


@dataclass(frozen=True)
class Page:
    limit: int
    after: Any


def _page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")] = 50,
    after: Annotated[
        str | None, Query(max_length=200, description="the `next` of the page before")
    ] = None,
) -> Page:
    return Page(limit, after)


def _page_by_id(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")] = 50,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="the `next` of the page before")
    ] = None,
) -> Page:
    return Page(limit, after)


Paged = Annotated[Page, Depends(_page)]
PagedById = Annotated[Page, Depends(_page_by_id)]


def page_of(rows: Sequence[dict[str, Any]], page: Page, key: str) -> dict[str, Any]:
    """``{"items", "next"}`` from up to ``limit + 1`` rows; ``next`` is the last row's ``key``."""
    items = list(rows[: page.limit])
    more = len(rows) > page.limit
    return {"items": items, "next": items[-1][key] if more else None}
