"""Idempotency keys: a station that posts again after a lost answer gets the first answer.

The ``Idempotency-Key`` header, the request's fingerprint, and the ``idempotency_keys``
table the outbox writes.

A key is stored with its event in the transaction that records the event, so after any
crash both are on disk or neither is; a refused request stores nothing and leaves its
key free, as on central (``central/api/idempotency.py``). Keys are kept ``WINDOW_S`` by
the edge's wall clock and then pruned: a retry later than that records the event again.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Header

__all__ = ["WINDOW_S", "IdempotencyKey", "KeyReused", "Keyed", "Keys"]

WINDOW_S = 24 * 3600.0  # longer than any outage a station would still retry through
PRUNE_EVERY_S = 60.0

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=128,  # as on central
        pattern=r"^[!-~]+$",  # visible ASCII: a UUID, or a station's own report number
        description="a retry with the same key and body gets the first answer (for 24 h)",
    ),
]


class KeyReused(Exception):
    """The key was stored with another request: nothing was recorded."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used for another request; use a new key")


@dataclass(frozen=True)
class Keyed:
    """A client's key for one request, and the fingerprint of that request."""

    key: str
    request_hash: bytes

    @classmethod
    def of(cls, key: str | None, route: str, request: Mapping[str, Any]) -> Keyed | None:
        """``request`` is the validated body, so key order and whitespace do not matter."""
        if key is None:
            return None
        try:
            canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            # beyond what JSON events may hold (a 65-bit integer, nesting too deep): the
            # contract refuses the event and no key is stored, so any stable hash will do
            canonical = repr(request).encode()
        return cls(key, hashlib.sha256(route.encode() + b"\n" + canonical).digest())


class Keys:
    """The ``idempotency_keys`` table, used only inside the outbox's units of work."""

    def __init__(self) -> None:
        self._pruned_at: float | None = None

    def recall(self, conn: sqlite3.Connection, key: str) -> tuple[bytes, int, str] | None:
        """The request hash, seq and event id stored under ``key`` within the window, or None
        (a key past it counts as new even before it is pruned)."""
        row = conn.execute(
            "SELECT request_hash, seq, event_id FROM idempotency_keys"
            " WHERE key = ? AND created_at >= ?",
            (key, time.time() - WINDOW_S),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def remember(self, conn: sqlite3.Connection, rows: list[tuple[Keyed, int, str]]) -> None:
        """Store (key, seq, event id) rows; drops keys past the window at most once a minute."""
        now = time.time()
        conn.executemany(
            "INSERT OR REPLACE INTO idempotency_keys (key, request_hash, seq, event_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(k.key, k.request_hash, seq, event_id, now) for k, seq, event_id in rows],
        )
        if self._pruned_at is None or time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (now - WINDOW_S,))

    def renumber(self, conn: sqlite3.Connection, above: int, shift: int) -> None:
        """Events above ``above`` moved up by ``shift`` (``Outbox.resync``): so do their keys."""
        conn.execute("UPDATE idempotency_keys SET seq = seq + ? WHERE seq > ?", (shift, above))
