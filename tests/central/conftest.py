"""Central test support: a migrated database per test, batches built as the edge builds them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, Table, select

from central.db import make_engine, migrate
from central.db.schema import dead_letters, edge_cursors, events
from protocols.contract import EdgeAddress, TopicLayout, encode_batch
from tests.helpers import wait_until

EDGE = "plant1/assembly/line1/edge1"
EDGE_B = "plant1/assembly/line2/edge2"
LAYOUT = TopicLayout()


def events_topic(edge_id: str = EDGE) -> str:
    return LAYOUT.events(EdgeAddress(*edge_id.split("/")))


def report(good: int = 5, scrap: int = 1, **fields: Any) -> dict[str, Any]:
    """A production_report payload; ``fields`` add to or override the defaults."""
    return {
        "work_order": "WO-1",
        "operation": "10",
        "good": good,
        "scrap": scrap,
        "period_start": "2026-03-02T06:00:00Z",
        "period_end": "2026-03-02T07:00:00Z",
        **fields,
    }


def envelope(
    seq: int,
    payload: dict[str, Any] | None = None,
    *,
    kind: str = "production_report",
    edge_id: str = EDGE,
    event_id: uuid.UUID | None = None,
    station: str = "ST-1",
    ts: str = "2026-03-02T07:00:00Z",
) -> dict[str, Any]:
    return {
        "v": 1,
        "event_id": str(event_id or uuid.uuid4()),
        "edge_id": edge_id,
        "seq": seq,
        "ts": ts,
        "kind": kind,
        "station": station,
        "payload": report() if payload is None else payload,
    }


def batch(*envelopes: dict[str, Any], edge_id: str = EDGE) -> bytes:
    """One MQTT message of the events channel, encoded the way the edge encodes it."""
    return encode_batch(edge_id, [orjson.dumps(e) for e in envelopes])


def rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    """Every row of ``table`` in primary-key order."""
    with engine.connect() as conn:
        query = select(table).order_by(*table.primary_key.columns)
        return [dict(r._mapping) for r in conn.execute(query)]


def stored_seqs(engine: Engine, edge_id: str = EDGE) -> list[int]:
    """Sequence numbers of the stored events of an edge, in the order they were stored."""
    with engine.connect() as conn:
        query = select(events.c.seq).where(events.c.edge_id == edge_id).order_by(events.c.id)
        return list(conn.execute(query).scalars())


def cursor(engine: Engine, edge_id: str = EDGE) -> int | None:
    with engine.connect() as conn:
        query = select(edge_cursors.c.applied_seq).where(edge_cursors.c.edge_id == edge_id)
        value = conn.execute(query).scalar_one_or_none()
        return None if value is None else int(value)


def dead(engine: Engine) -> list[dict[str, Any]]:
    return rows(engine, dead_letters)


wait_for = wait_until  # the name central's tests use


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated central database, on SQLite and on PostgreSQL."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Any) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    yield engine
    engine.dispose()
