"""A page's sign-in: an API token exchanged for a session token that expires.

Failed sign-ins are counted per client address and per token prefix; past the limit the
answer is 429 with Retry-After until the window has room again. The log names the address,
never the token.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from central.api.deps import UNKNOWN_TOKEN, CurrentUser, engine_of, now_of, sync_of
from central.api.errors import Unauthenticated
from central.auth import end_session, open_session
from central.db import writing
from protocols.api import ApiError, error_body

__all__ = ["SignInLimiter", "router"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["users"])

PREFIX = 8  # characters of a tried token that key its count (a guess at one token)
MAX_KEYS = 10_000  # counters kept; beyond, those with nothing in the window go first


class SignInLimiter:
    """At most ``attempts`` failures per key in any ``window_s`` seconds."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sign-ins run on the thread pool

    def retry_after(self, keys: list[str], now: float) -> float | None:
        """Seconds until one of ``keys`` may try again, or None when all may now."""
        waits = []
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.attempts:
                    waits.append(failures[0] + self.window_s - now)
        return max(waits) if waits else None

    def failed(self, keys: list[str], now: float) -> None:
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                for key in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[key]
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures


class SignIn(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="the user's API token")


def _limiter(request: Request) -> SignInLimiter:
    state = request.app.state
    if getattr(state, "sign_in_limiter", None) is None:
        auth = sync_of(request).settings.auth
        state.sign_in_limiter = SignInLimiter(auth.sign_in_attempts, auth.sign_in_window_s)
    limiter: SignInLimiter = state.sign_in_limiter
    return limiter


@router.post("/sessions", status_code=201)
def sign_in(request: Request, body: Annotated[SignIn, Body()]) -> Any:
    """Exchange an API token for a session token that ends after ``auth.session_hours``
    or once idle ``auth.idle_minutes``; 429 with Retry-After after too many failures."""
    limiter, now = _limiter(request), now_of(request)
    address = request.client.host if request.client else "unknown"
    keys = [f"address:{address}", f"token:{body.token[:PREFIX]}"]
    wait = limiter.retry_after(keys, now.timestamp())
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        log.warning("sign-in refused: too many failures", extra={"client": address})
        return JSONResponse(
            error_body("too_many_attempts", f"too many failed sign-ins; try again in {seconds} s"),
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
    auth = sync_of(request).settings.auth
    with writing(engine_of(request)).begin() as conn:
        opened = open_session(
            conn,
            body.token,
            now,
            timedelta(hours=auth.session_hours),
            timedelta(minutes=auth.idle_minutes),
        )
    if opened is None:
        limiter.failed(keys, now.timestamp())
        log.warning("sign-in failed: unknown or expired token", extra={"client": address})
        raise Unauthenticated(UNKNOWN_TOKEN, invalid_token=True)
    token, user, expires_at = opened
    log.info("signed in", extra={"user": user.name, "client": address})
    return {
        "token": token,
        "expires_at": expires_at.isoformat(),
        "idle_minutes": auth.idle_minutes,
        "name": user.name,
        "roles": sorted(user.roles),
    }


@router.delete("/sessions/current", status_code=204)
def sign_out(request: Request, user: CurrentUser) -> None:
    """End the session this request was made with: its token stops working."""
    if user.session is None:
        raise ApiError(
            422, "not_a_session", "this is an API token, not a session: revoke it with the CLI"
        )
    with writing(engine_of(request)).begin() as conn:
        end_session(conn, user.session)
