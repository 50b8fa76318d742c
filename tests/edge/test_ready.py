"""The edge's readiness and its operations metrics, through the HTTP API."""

from __future__ import annotations

from edge.node import EdgeNode
from tests.edge.support import EDGE_ID
from tests.helpers import TestClient


def test_ready_while_the_store_takes_writes_broker_or_not(
    client: TestClient, node: EdgeNode
) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "edge_id": EDGE_ID,
        "checks": {"store": "ok", "mqtt": "disconnected"},
    }

    node.writer.close()  # as when the store cannot be written any more
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert response.json()["checks"]["store"] == "not writable: the edge store is closed"
    assert client.get("/health").status_code == 200, "alive, though not ready"


def test_metrics_count_scans_and_say_no_restore_is_pending(client: TestClient) -> None:
    client.post("/api/v1/scans", json={"station": "ST-10", "input": "EMP-0042"})
    client.post("/api/v1/scans", json={"station": "ST-10", "input": "]C1010950110153000910ABC"})
    lines = client.get("/metrics").text.splitlines()
    assert 'floorsync_edge_scans_total{result="accepted"} 1.0' in lines
    assert 'floorsync_edge_scans_total{result="refused"} 1.0' in lines
    assert "floorsync_edge_restore_resync_pending 0.0" in lines
    for family in ("device_connected", "scanner_connected"):
        assert f"# TYPE floorsync_edge_{family} " in "\n".join(lines)
