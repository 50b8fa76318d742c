"""Who may use the edge: people at the terminals, and the software that talks to it.

A person signs in with a badge and gets a session token that ends after
``terminal.session_hours`` or once idle ``terminal.idle_minutes`` (an unattended terminal
locks itself):

  operator     a badge the master data knows, at one station's terminal: that station only
  supervisor   a badge of ``[[supervisors]]`` with its PIN: every station and the line

Software uses an API token of ``[[api_tokens]]``; the config keeps only its sha256:

  integration  record events and scans, every station's steps and views, the line
  admin        all of that, and the edge's own settings (secrets left out)

Sessions live in memory: a restarted edge asks for the badge again, and nothing recorded
is lost by it. Probes (``/health``, ``/ready``, ``/metrics``) and the pages themselves,
which hold no data until signed in, need nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

Role = Literal["operator", "supervisor", "integration", "admin"]
TOKEN_PREFIX = "fse_"  # an edge API token; says what it is when found in a file
MAX_SESSIONS = 2_000  # sessions kept at once; beyond, the one idle longest goes first

# who may do what; an operator's session is further held to its own station
STATION = ("operator", "supervisor", "integration", "admin")  # a station's view and steps
LINE = ("supervisor", "integration", "admin")  # the line, its status and dispatch list
RECORD = ("integration", "admin")  # raw events and scans, as a device or system sends them
CONFIG = ("admin",)  # the edge's settings


@dataclass(frozen=True)
class Principal:
    """Who is asking: a person's session, or an API token."""

    name: str  # the badge, or the token's name
    role: Role
    station: str | None = None  # where an operator signed in; a supervisor's terminal
    display: str = ""  # the person's name
    session: str | None = None  # the session token's hash; None for an API token
    opened: float = 0.0  # when an operator's session opened (wall clock, s)

    def may(self, roles: Iterable[str]) -> bool:
        return self.role in roles

    def may_act_at(self, station: str) -> bool:
        return self.role != "operator" or station == self.station


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> tuple[str, str]:
    """A new API token and the hash the config keeps of it."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def is_token_hash(text: str) -> bool:
    kind, _, digest = text.partition(":")
    return kind == "sha256" and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


@dataclass
class _Session:
    principal: Principal
    expires_at: float
    idle_until: float


class Sessions:
    """Session tokens in memory, each held by its sha256; thread-safe."""

    def __init__(self, max_s: float, idle_s: float, clock: Callable[[], float] = time.time) -> None:
        self.max_s, self.idle_s, self.clock = max_s, idle_s, clock
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: Principal) -> tuple[str, Principal, float]:
        """A new token for ``principal``; returns it, the principal and when it ends."""
        token = secrets.token_urlsafe(32)
        key = hash_token(token)
        now = self.clock()
        signed_in = replace(principal, session=key)
        with self._lock:
            self._expire(now)
            # one session per operator and station: signing in again replaces it, so a
            # badge (no PIN) signed in over and over cannot crowd everyone else out. A
            # supervisor (PIN) may keep a dashboard open on several screens.
            if principal.role == "operator":
                for old in [
                    k
                    for k, s in self._sessions.items()
                    if s.principal.role == "operator"
                    and (s.principal.name, s.principal.station)
                    == (principal.name, principal.station)
                ]:
                    del self._sessions[old]
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].idle_until)
                del self._sessions[oldest]
            self._sessions[key] = _Session(signed_in, now + self.max_s, now + self.idle_s)
        return token, signed_in, now + self.max_s

    def check(self, token: str, *, touch: bool = True) -> Principal | None:
        """The session's principal, or None when unknown or ended; ``touch`` keeps it alive."""
        key = hash_token(token)
        now = self.clock()
        with self._lock:
            found = self._sessions.get(key)
            if found is None:
                return None
            if now >= min(found.expires_at, found.idle_until):
                del self._sessions[key]
                return None
            if touch:
                found.idle_until = now + self.idle_s
            return found.principal

    def end(self, key: str) -> None:
        """End the session whose token hashes to ``key``."""
        with self._lock:
            self._sessions.pop(key, None)

    def count(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return len(self._sessions)

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if now >= min(s.expires_at, s.idle_until)]:
            del self._sessions[key]


class ApiTokens:
    """The configured API tokens: name, role and the sha256 of the token."""

    def __init__(self, tokens: Iterable[tuple[str, Role, str]]) -> None:
        self._tokens = [(name, role, bytes(digest, "ascii")) for name, role, digest in tokens]

    def check(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        tried = bytes(hash_token(token), "ascii")
        found = None
        for name, role, digest in self._tokens:  # every one compared: no early answer
            if hmac.compare_digest(tried, digest):
                found = Principal(name, role)
        return found
