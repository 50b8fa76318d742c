"""Signing in at the edge and checking every request (the rules: edge.auth).

POST   /api/v1/sessions           a badge (and a supervisor's PIN) for a session token
GET    /api/v1/sessions/current   who this token is
DELETE /api/v1/sessions/current   sign out: the token stops working

Every other API route takes ``Authorization: Bearer <token>``: a session token or an API
token. A page's live stream (EventSource sends no headers) takes ``?token=`` instead, and
ends when the session does. Pages keep the token in the tab's sessionStorage and send it
as a header, never as a cookie, so a form on another site carries no credentials: there is
nothing for cross-site request forgery to ride on.

An operator's session lasts while they are logged in at the station: when they scan their
badge to log out (or the shift ends), the session ends too and the terminal locks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from edge import auth
from edge.answers import answers
from edge.auth import ApiTokens, Principal, Sessions
from edge.workstations import Denied, Workstations
from protocols.api import ApiError, Forbidden, Unauthenticated
from protocols.barcode import DEFAULT_PATTERNS, ScanError, parse_scan
from protocols.ratelimit import SignInLimiter, too_many_attempts

log = logging.getLogger(__name__)

_bearer = HTTPBearer(
    auto_error=False,
    description="a session token from `POST /api/v1/sessions` (a badge at a terminal), or an"
    " API token from `floorsync edge api-token` listed in [[api_tokens]]",
)
UNKNOWN_TOKEN = "the token is unknown or its sign-in ended: sign in again"


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    badge: str = Field(min_length=1, max_length=64, description="the badge as scanned")
    pin: str | None = Field(None, max_length=12, repr=False, description="a supervisor's PIN")
    station: str | None = Field(
        None, min_length=1, max_length=64, description="the terminal's station; none: the line"
    )


class Access:
    """The edge's sessions, API tokens and sign-in limits."""

    def __init__(self, ws: Workstations, clock: Callable[[], float] = time.time) -> None:
        settings = ws.settings
        terminal = settings.terminal
        self.ws, self.clock = ws, clock
        self.sessions = Sessions(terminal.session_hours * 3600, terminal.idle_minutes * 60, clock)
        self.tokens = ApiTokens((t.name, t.role, t.token_hash) for t in settings.api_tokens)
        self.limiter = SignInLimiter(terminal.sign_in_attempts, terminal.sign_in_window_s)
        self.idle_minutes = terminal.idle_minutes

    def principal(
        self, token: str, *, touch: bool = True, sessions_only: bool = False
    ) -> Principal | None:
        """Who ``token`` is, or None. An operator's session holds while the login it began
        with does: logged out (or out and in again since), it is signed out."""
        who = None if sessions_only else self.tokens.check(token)
        who = who or self.sessions.check(token, touch=touch)
        if who is None or who.role != "operator" or who.session is None:
            return who
        since = self.ws.logged_in_since(who.station or "", who.name)
        if since is None or since.timestamp() > who.opened:
            self.sessions.end(who.session)
            log.info(
                "signed out: logged out of the station",
                extra={"badge": who.name, "station": who.station},
            )
            return None
        return who

    def need(self, roles: Sequence[str], *, stream: bool = False) -> Callable[..., Principal]:
        """A dependency: the principal, when it has one of ``roles`` and, for a station's
        route, may act there. ``stream`` also takes ``?token=`` and keeps no session alive."""

        def dependency(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        ) -> Principal:
            token = credentials.credentials if credentials else None
            in_query = token is None and stream
            if in_query:
                token = request.query_params.get("token")
            if not token:
                raise Unauthenticated("this needs a sign-in: Authorization: Bearer <token>")
            # only a session's short-lived token may ride in a URL, which proxies log
            who = self.principal(token, touch=not stream, sessions_only=in_query)
            if who is None:
                raise Unauthenticated(UNKNOWN_TOKEN, invalid_token=True)
            if not who.may(roles):
                raise Forbidden(f"{request.method} {request.url.path}", roles)
            station = request.path_params.get("station")
            if station is not None and not who.may_act_at(station):
                raise ApiError(
                    403,
                    "other_station",
                    f"Signed in at {who.station}: {station} needs its own sign-in.",
                    {"signed_in_at": who.station},
                )
            request.state.principal = who
            return who

        return dependency

    def alive(self, token: str) -> Callable[[], bool]:
        """For a stream: whether the sign-in it was opened with still holds."""
        return lambda: self.principal(token, touch=False) is not None

    def badge_of(self, scanned: str) -> str:
        """The badge in what a scanner typed, read as the scan field reads it (an AIM
        prefix such as ``]A0`` dropped); as typed when it is no operator badge."""
        try:
            scan = parse_scan(scanned, DEFAULT_PATTERNS)
        except ScanError:
            return scanned.strip()
        return scan.value if scan.kind == "operator_badge" and scan.value else scanned.strip()


def stream_token(request: Request) -> str:
    """The token a stream was opened with (header or query)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value if scheme.lower() == "bearer" and value else request.query_params["token"]


def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Anyone signed in, with the app's ``state.access``."""
    access: Access = request.app.state.access
    return access.need(auth.STATION)(request, credentials)


SignedIn = Annotated[Principal, Depends(signed_in)]


def router(access: Access) -> APIRouter:
    api = APIRouter(tags=["sign-in"])
    ws = access.ws

    @api.post("/api/v1/sessions", status_code=201, response_model=None)
    def sign_in(request: Request, body: Annotated[SignIn, Body()]) -> Any:
        """A badge for a session token. An operator signs in at a station (and is logged in
        to its crew); a supervisor anywhere, with the PIN. 401 ``unknown_badge``,
        ``pin_needed`` or ``wrong_pin``; 403 ``supervisor_needed`` for the line without a
        supervisor; 429 after too many failures (Retry-After)."""
        address = request.client.host if request.client else "unknown"
        badge = access.badge_of(body.badge)
        keys = [f"address:{address}", f"badge:{badge}"]
        now = access.clock()
        # counted as a failure from the start, forgiven on success: parallel guesses
        # cannot outrun the count
        wait = access.limiter.begin(keys, now)
        if wait is not None:
            log.warning(
                "sign-in refused: too many failures", extra={"client": address, "badge": badge}
            )
            return too_many_attempts(wait)
        if body.station is not None and body.station not in ws.stations:
            raise ApiError(404, "not_found", f"no station {body.station!r} on this line")

        def failed(status: int, code: str, message: str) -> ApiError:
            log.warning(
                "sign-in failed",
                extra={"client": address, "reason": code, "badge": badge, "station": body.station},
            )
            return ApiError(status, code, message)

        message = None
        supervisor = ws.supervisors.get(badge)
        if supervisor is not None:
            if not body.pin:
                access.limiter.forgive(keys)
                raise ApiError(401, "pin_needed", "Enter the supervisor PIN.")
            try:
                ws.supervisor(body.station or "line", badge, body.pin)
            except Denied as exc:
                if exc.locked_for:
                    raise ApiError(
                        429, "pin_locked", exc.message, {"retry_after_s": round(exc.locked_for)}
                    ) from None
                raise failed(401, "wrong_pin", exc.message) from None
            who = Principal(badge, "supervisor", body.station, supervisor.name)
        elif body.station is None:
            raise failed(
                403, "supervisor_needed", "The line dashboard needs a supervisor's badge and PIN."
            )
        else:
            station = body.station
            try:
                with answers():  # a full store: 507, as for any step
                    name, said = ws.sign_in(station, badge)
            except ApiError as exc:
                if exc.code == "unknown_badge":
                    raise failed(401, "unknown_badge", exc.message) from None
                access.limiter.forgive(keys)  # a known badge, refused by a rule
                raise
            who = Principal(badge, "operator", station, name, opened=ws.clock())
            message = said.text
        access.limiter.forgive(keys)
        token, who, ends = access.sessions.open(who)
        log.info(
            "signed in",
            extra={"badge": who.name, "role": who.role, "station": who.station, "client": address},
        )
        return {
            "token": token,
            **_me(who),
            "expires_at": datetime.fromtimestamp(ends, UTC).isoformat(),
            "idle_minutes": access.idle_minutes,
            "message": message,
        }

    @api.get("/api/v1/sessions/current")
    def me(who: SignedIn) -> dict[str, Any]:
        """Who the token is: badge or token name, role, station."""
        return _me(who)

    @api.delete("/api/v1/sessions/current", status_code=204)
    def sign_out(who: SignedIn) -> None:
        """End this session: its token stops working. An operator stays in the crew."""
        if who.session is None:
            raise ApiError(
                422, "not_a_session", "an API token, not a session: remove it from the config"
            )
        access.sessions.end(who.session)
        log.info("signed out", extra={"badge": who.name, "station": who.station})

    return api


def _me(who: Principal) -> dict[str, Any]:
    name = who.display or who.name
    return {"badge": who.name, "name": name, "role": who.role, "station": who.station}
