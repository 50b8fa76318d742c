"""A page's sign-in: an API token exchanged for a session token that expires.

Failed sign-ins are counted per client address and per token prefix; past the limit the
answer is 429 with Retry-After until the window has room again. The log names the address,
never the token.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from central.api.deps import UNKNOWN_TOKEN, CurrentUser, engine_of, now_of, sync_of
from central.api.errors import Unauthenticated
from central.auth import end_session, open_session
from central.db import writing
from protocols.api import ApiError
from protocols.ratelimit import SignInLimiter, too_many_attempts

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["users"])

PREFIX = 8  # characters of a tried token that key its count (a guess at one token)


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
        log.warning("sign-in refused: too many failures", extra={"client": address})
        return too_many_attempts(wait)
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
