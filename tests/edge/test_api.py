"""The edge's HTTP API: recording events, one error shape, health, status and metrics."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from edge.node import EdgeNode
from protocols.contract import Command, TopicLayout, encode, validate_envelope
from tests.edge.support import ADDRESS, EDGE_ID
from tests.helpers import TestClient


def stored(node: EdgeNode) -> list[tuple[int, str, str]]:
    with closing(sqlite3.connect(node.writer.path)) as conn:
        return conn.execute("SELECT seq, event_id, kind FROM outbox ORDER BY seq").fetchall()


MACHINE_DOWN = {
    "kind": "machine_state",
    "station": "ST-1",
    "payload": {"machine": "M1", "state": "down", "reason": "jam", "since": "2024-05-01T10:00:00Z"},
    "ts": "2024-05-01T10:00:01Z",
}


def test_recording_an_event_answers_201_once_it_is_in_the_outbox(
    client: TestClient, node: EdgeNode
) -> None:
    response = client.post("/api/v1/events", json=MACHINE_DOWN)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["seq"] == 1 and answer["edge_id"] == EDGE_ID
    assert stored(node) == [(1, answer["event_id"], "machine_state")]
    [(_, body)] = node.outbox.read_after(0, 10)
    envelope = validate_envelope(orjson.loads(body))
    assert str(envelope.event_id) == answer["event_id"]
    assert envelope.ts.isoformat() == "2024-05-01T10:00:01+00:00"

    second = client.post("/api/v1/events", json={**MACHINE_DOWN, "ts": None})
    assert second.status_code == 201 and second.json()["seq"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "coffee_break"}, "unknown event kind 'coffee_break'"),
        ({"station": "no station!"}, "not a valid station code"),
        (
            {"payload": {"machine": "M1", "state": "down", "since": "2024-05-01T10:00:00Z"}},
            "state 'down' needs a reason",
        ),
        (
            {"payload": {"machine": "M1", "state": "flying", "since": "2024-05-01T10:00:00Z"}},
            "machine_state payload state: Input should be",
        ),
    ],
)
def test_an_invalid_event_is_422_invalid_event_and_stores_nothing(
    client: TestClient, node: EdgeNode, change: dict[str, Any], message: str
) -> None:
    response = client.post("/api/v1/events", json={**MACHINE_DOWN, **change})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_event"
    assert message in error["message"]
    assert stored(node) == []
    assert node.outbox.last_seq == 0


@pytest.mark.parametrize(
    "body",
    [
        {"station": "ST-1", "payload": {}},  # no kind
        {**MACHINE_DOWN, "payload": "not an object"},
        {**MACHINE_DOWN, "ts": "2024-05-01T10:00:01"},  # no time zone
        {**MACHINE_DOWN, "priority": "high"},  # unknown field
        [MACHINE_DOWN],
    ],
)
def test_a_malformed_request_is_422_invalid_request(
    client: TestClient, node: EdgeNode, body: Any
) -> None:
    response = client.post("/api/v1/events", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"] and error["details"]
    assert stored(node) == []


def test_a_body_that_is_not_json_is_422_invalid_request(client: TestClient, node: EdgeNode) -> None:
    response = client.post(
        "/api/v1/events", content=b"{kind", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert stored(node) == []


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(
    client: TestClient, node: EdgeNode
) -> None:
    key = {"Idempotency-Key": "ST-1-000042"}
    first = client.post("/api/v1/events", json=MACHINE_DOWN, headers=key)
    # the same body, its keys in another order: the same request
    again = client.post("/api/v1/events", json=dict(reversed(MACHINE_DOWN.items())), headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert stored(node) == [(1, first.json()["event_id"], "machine_state")]

    scan, longest = {"station": "ST-10", "input": "EMP-0042"}, {"Idempotency-Key": "s" * 128}
    scans = [client.post("/api/v1/scans", json=scan, headers=longest) for _ in "12"]
    assert scans[0].status_code == scans[1].status_code == 201
    assert scans[0].json() == scans[1].json()
    assert node.outbox.last_seq == 2
    assert node.scans.accepted == 1


def test_the_same_idempotency_key_for_another_request_is_422_and_records_nothing(
    client: TestClient, node: EdgeNode
) -> None:
    key = {"Idempotency-Key": "k"}
    assert client.post("/api/v1/events", json=MACHINE_DOWN, headers=key).status_code == 201
    other = {**MACHINE_DOWN, "ts": "2024-05-01T10:00:02Z"}
    for path, body in (("events", other), ("scans", {"station": "ST-10", "input": "EMP-0042"})):
        response = client.post(f"/api/v1/{path}", json=body, headers=key)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(stored(node)) == 1
    assert node.scans.accepted == 0


@pytest.mark.parametrize("key", ["", "k" * 129, "two words", "tab\tkey"])
def test_a_malformed_idempotency_key_is_422_and_records_nothing(
    client: TestClient, node: EdgeNode, key: str
) -> None:
    response = client.post("/api/v1/events", json=MACHINE_DOWN, headers={"Idempotency-Key": key})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"][0]["where"] == "header.idempotency-key"
    assert stored(node) == []


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "edge_id": EDGE_ID, "mqtt_connected": False}


def test_status_fields(client: TestClient, node: EdgeNode) -> None:
    for _ in range(3):
        assert client.post("/api/v1/events", json=MACHINE_DOWN).status_code == 201
    node.outbox.ack(1).result(10)
    status = client.get("/api/v1/status").json()
    assert status["edge_id"] == EDGE_ID
    assert status["mqtt_connected"] is False
    outbox = status["outbox"]
    assert (outbox["last_seq"], outbox["acked_seq"], outbox["depth"]) == (3, 1, 2)
    assert outbox["oldest_unacked_age_s"] >= 0
    assert outbox["last_ack_at"] > 0
    assert set(status["uplink"]) == {
        "next_unsent_seq",
        "oldest_unsent_age_s",
        "batches_sent",
        "events_sent",
        "resends",
        "last_ack_at",
    }
    assert status["uplink"]["batches_sent"] == 0
    assert status["uplink"]["oldest_unsent_age_s"] >= 0, "seq 2 is recorded and not yet sent"


def test_metrics(client: TestClient) -> None:
    for _ in range(2):
        assert client.post("/api/v1/events", json=MACHINE_DOWN).status_code == 201
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "floorsync_edge_outbox_depth 2.0" in lines
    assert "floorsync_edge_last_seq 2.0" in lines
    assert "floorsync_edge_mqtt_connected 0.0" in lines
    unsent = "floorsync_edge_outbox_oldest_unsent_age_seconds "
    assert any(line.startswith(unsent) for line in lines)
    assert any(line.startswith("floorsync_edge_resends_total ") for line in lines)


def test_unknown_route_uses_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_wedge_scan_is_recorded_once_committed(client: TestClient, node: EdgeNode) -> None:
    response = client.post("/api/v1/scans", json={"station": "ST-10", "input": "EMP-0042\r\n"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["accepted"] is True and body["seq"] == 1
    assert body["meaning"]["kind"] == "operator_badge"
    assert node.outbox.last_seq == 1


def test_a_refused_wedge_scan_says_why_and_records_nothing(
    client: TestClient, node: EdgeNode
) -> None:
    response = client.post(
        "/api/v1/scans", json={"station": "ST-10", "input": "]C1010950110153000910ABC"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "scan_refused"
    assert "check digit" in error["message"]
    assert node.outbox.last_seq == 0


def _command(name: str, version: int, body: dict[str, Any]) -> tuple[str, bytes]:
    command = Command(
        command=name, edge_id=EDGE_ID, version=version, issued_at=datetime.now(UTC), body=body
    )
    return TopicLayout().command(ADDRESS, name), encode(command)


DISPATCH = {
    "orders": [
        {
            "work_order": "WO-000005",
            "item": "VLV-BALL-25",
            "quantity": 30.0,
            "sequence": 1,
            "operations": [
                {"operation": "10", "work_center": "CNC", "stations": ["ST-10"], "quantity": 30.0}
            ],
        }
    ]
}


def test_the_dispatch_list_is_404_until_central_sends_one_then_the_cached_one(
    client: TestClient, node: EdgeNode
) -> None:
    response = client.get("/api/v1/dispatch-list")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

    node.downlink.handle(*_command("dispatch_list", 3, DISPATCH))
    answer = client.get("/api/v1/dispatch-list").json()
    assert answer["version"] == 3 and answer["master_data_version"] is None
    assert [o["work_order"] for o in answer["orders"]] == ["WO-000005"]
    assert "master_data" not in answer
    assert client.get("/api/v1/dispatch-list?master_data=true").json()["master_data"] is None

    operators = [{"badge": "EMP-0042", "name": "Anna", "skills": ["CNC"]}]
    node.downlink.handle(*_command("master_data", 2, {"operators": operators}))
    answer = client.get("/api/v1/dispatch-list", params={"master_data": "true"}).json()
    assert answer["master_data_version"] == 2
    assert answer["master_data"]["operators"] == operators
