"""The sync spine's views: health, metrics, edges, events, dead letters, station totals.

Not behind a token yet (docs/api.md): these tests call them without one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert

from central.api import create_app
from central.db.schema import edge_status
from central.service import CentralSync
from tests.central.api.conftest import TestClient, make_sync
from tests.central.conftest import EDGE, EDGE_B, batch, envelope, events_topic, report


@pytest.fixture
def sqlite_client(sqlite_engine: Engine) -> Iterator[TestClient]:
    """For what does not depend on the database."""
    with TestClient(create_app(make_sync(sqlite_engine), manage=False)) as client:
        yield client


def ingest(sync: CentralSync, *seqs: int, edge_id: str = EDGE) -> None:
    sent = [envelope(s, report(good=s), edge_id=edge_id) for s in seqs]
    sync.ingestor.handle(events_topic(edge_id), batch(*sent, edge_id=edge_id))


def test_health(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "mqtt_connected": False,
        "batches": 0,
        "last_batch_at": None,
    }


def test_edges_show_applied_seq_events_status_and_gaps(
    client: TestClient, sync: CentralSync, engine: Engine
) -> None:
    ingest(sync, 1, 2, 3)
    ingest(sync, 5, 6)  # held behind seq 4
    ingest(sync, 3, edge_id=EDGE_B)  # an edge heard of only through its gap
    with engine.begin() as conn:
        conn.execute(
            insert(edge_status).values(
                edge_id=EDGE,
                state="online",
                reason="connected",
                since=datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
                software="floorsync 0.1.0",
            )
        )

    response = client.get("/api/v1/edges")

    assert response.status_code == 200
    body = response.json()
    assert [e.pop("gap_for_s") is not None for e in body] == [True, True]
    assert body == [
        {
            "edge_id": EDGE,
            "applied_seq": 3,
            "events": 3,
            "state": "online",
            "state_since": "2026-03-02T06:00:00+00:00",
            "held_events": 2,
        },
        {
            "edge_id": EDGE_B,
            "applied_seq": 0,
            "events": 0,
            "state": "unknown",
            "state_since": None,
            "held_events": 1,
        },
    ]


def test_events_page_by_after_seq_and_limit(client: TestClient, sync: CentralSync) -> None:
    ingest(sync, 1, 2, 3, 4, 5)
    ingest(sync, 1, 2, edge_id=EDGE_B)

    def seqs(**params: object) -> list[int]:
        response = client.get("/api/v1/events", params={"edge_id": EDGE, **params})
        assert response.status_code == 200
        return [e["seq"] for e in response.json()]

    assert seqs() == [1, 2, 3, 4, 5]
    assert seqs(limit=2) == [1, 2]
    assert seqs(after_seq=2, limit=2) == [3, 4]
    assert seqs(after_seq=4, limit=2) == [5]
    assert seqs(after_seq=5) == []

    [first] = client.get("/api/v1/events", params={"edge_id": EDGE_B, "limit": 1}).json()
    assert first.pop("ingested_at").endswith("+00:00")
    assert first.pop("event_id")
    assert first == {
        "edge_id": EDGE_B,
        "seq": 1,
        "kind": "production_report",
        "station": "ST-1",
        "ts": "2026-03-02T07:00:00+00:00",
        "payload": report(good=1),
    }
    assert client.get("/api/v1/events", params={"edge_id": "a/b/c/d"}).json() == []


@pytest.mark.parametrize(
    ("query", "where", "message"),
    [
        ("edge_id=x&limit=0", "query.limit", "Input should be greater than or equal to 1"),
        ("edge_id=x&limit=10001", "query.limit", "Input should be less than or equal to 10000"),
        ("edge_id=x&limit=ten", "query.limit", "Input should be a valid integer"),
        ("edge_id=x&after_seq=-1", "query.after_seq", "Input should be greater than or equal"),
        ("limit=5", "query.edge_id", "Field required"),
    ],
)
def test_invalid_query_gets_the_one_error_shape(
    sqlite_client: TestClient, query: str, where: str, message: str
) -> None:
    response = sqlite_client.get(f"/api/v1/events?{query}")

    assert response.status_code == 422
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(f"{where}: {message}"), error["message"]
    assert error["details"][0]["where"] == where
    assert error["details"][0]["message"].startswith(message)


def test_unknown_path_gets_the_one_error_shape(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_dead_letters_newest_first(client: TestClient, sync: CentralSync) -> None:
    sync.ingestor.handle(events_topic(EDGE), b"not json")
    sync.ingestor.handle(events_topic(EDGE_B), batch(envelope(1)))  # EDGE's batch on EDGE_B

    letters = client.get("/api/v1/dead-letters").json()

    assert [(d["topic"], d["edge_id"], d["seq"]) for d in letters] == [
        (events_topic(EDGE_B), EDGE_B, None),
        (events_topic(EDGE), None, None),
    ]
    assert letters[0]["reason"] == f"batch edge_id {EDGE!r} does not match topic edge {EDGE_B!r}"
    assert letters[1]["reason"].startswith("not JSON")
    assert letters[1]["raw"] == "not json"
    assert datetime.fromisoformat(letters[1]["received_at"]).utcoffset() is not None
    assert letters[0]["id"] > letters[1]["id"]

    newest = client.get("/api/v1/dead-letters", params={"limit": 1}).json()
    assert [d["id"] for d in newest] == [letters[0]["id"]]
    assert client.get("/api/v1/dead-letters", params={"limit": 0}).status_code == 422


def test_station_totals(client: TestClient, sync: CentralSync) -> None:
    ingest(sync, 1, 2)

    assert client.get("/api/v1/station-totals").json() == [
        {
            "edge_id": EDGE,
            "station": "ST-1",
            "work_order": "WO-1",
            "operation": "10",
            "good": 3,
            "scrap": 2,
            "rework": 0,
            "labour_hours": 0.0,
            "reports": 2,
        }
    ]


def test_metrics(client: TestClient, sync: CentralSync) -> None:
    ingest(sync, 1, 2, 3)
    ingest(sync, 1)
    ingest(sync, 5)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "floorsync_central_events_applied_total 3.0" in lines
    assert "floorsync_central_events_duplicate_total 1.0" in lines
    assert "floorsync_central_dead_letters_total 0.0" in lines
    assert f'floorsync_central_held_events{{edge_id="{EDGE}"}} 1.0' in lines
    assert "floorsync_central_mqtt_connected 0.0" in lines
