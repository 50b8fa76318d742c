"""Idempotency keys: a retried write gets the first answer instead of doing it again.

An answer is stored with its key in the transaction of its effect, so either both are
there or neither is. A request refused (4xx) changes nothing and stores nothing: its
key stays free for the corrected request.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from central.db.domain import idempotency_keys

K = idempotency_keys.c


def fingerprint(method: str, target: str, body: bytes) -> str:
    """sha256 of method, path with query and body (JSON in canonical key order)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(b"\n".join([method.encode(), target.encode(), canonical])).hexdigest()


def recall(conn: Connection, user_id: int, key: str) -> Any:
    """The stored answer (request_hash, status, response) to this user's key, or None."""
    return conn.execute(
        select(K.request_hash, K.status, K.response).where(K.user_id == user_id, K.key == key)
    ).first()


def remember(
    conn: Connection,
    user_id: int,
    key: str,
    request_hash: str,
    status: int,
    response: Any,
    now: datetime,
) -> None:
    conn.execute(
        insert(idempotency_keys).values(
            user_id=user_id,
            key=key,
            request_hash=request_hash,
            status=status,
            response=response,
            created_at=now,
        )
    )
