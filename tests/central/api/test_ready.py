"""Central's readiness and the ingest-lag and per-edge metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from central.api import create_app
from central.db import make_engine
from central.service import CentralSync
from tests.central.api.conftest import TestClient, make_sync
from tests.central.conftest import EDGE, batch, envelope, events_topic, report


def test_not_ready_when_the_schema_is_behind(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    with TestClient(create_app(make_sync(sqlite_engine), manage=False)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["schema"].startswith("at 0007, this software needs ")


@pytest.fixture
def unreachable() -> Iterator[TestClient]:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nothing")
    with TestClient(create_app(make_sync(engine), manage=False)) as client:
        yield client
    engine.dispose()


def test_not_ready_when_the_database_does_not_answer(unreachable: TestClient) -> None:
    response = unreachable.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "does not answer (OperationalError)"
    lines = unreachable.get("/metrics").text.splitlines()
    assert "floorsync_central_database_up 0.0" in lines


def test_ready_with_ingest_lag_and_applied_seq_per_edge(
    client: TestClient, sync: CentralSync
) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "schema": "ok", "mqtt": "disconnected"},
    }

    two_seconds_ago = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    sent = [envelope(s, report(good=s), ts=two_seconds_ago) for s in (1, 2, 3)]
    sync.ingestor.handle(events_topic(), batch(*sent))

    lines = client.get("/metrics").text.splitlines()
    edge = f'edge_id="{EDGE}"'
    assert f'floorsync_central_ingest_lag_seconds_bucket{{{edge},le="1.0"}} 0.0' in lines
    assert f'floorsync_central_ingest_lag_seconds_bucket{{{edge},le="5.0"}} 3.0' in lines
    assert f"floorsync_central_ingest_lag_seconds_count{{{edge}}} 3.0" in lines
    assert f"floorsync_central_edge_applied_seq{{{edge}}} 3.0" in lines
    last = next(
        x for x in lines if x.startswith(f"floorsync_central_edge_last_lag_seconds{{{edge}}}")
    )
    assert 2.0 <= float(last.split()[-1]) < 5.0
    assert "floorsync_central_database_up 1.0" in lines
