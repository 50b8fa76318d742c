"""The edge's readiness and its operations metrics, through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.api import create_app
from edge.node import EdgeNode
from edge.settings import ApiTokenSettings, EdgeSettings, MqttSettings, NodeSettings
from tests.edge.support import ADDRESS, EDGE_ID
from tests.helpers import EDGE_API_TOKENS, EDGE_AUTH, TestClient, free_port


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EdgeNode]:
    """Never started and without a broker: readiness must not depend on one."""
    settings = EdgeSettings(
        node=NodeSettings(
            site=ADDRESS.site,
            area=ADDRESS.area,
            line=ADDRESS.line,
            name=ADDRESS.edge,
            data_dir=tmp_path,
        ),
        mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}"),
        api_tokens=[ApiTokenSettings(**token) for token in EDGE_API_TOKENS],
    )
    edge = EdgeNode(settings)
    yield edge
    edge.stop()


@pytest.fixture
def client(node: EdgeNode) -> Iterator[TestClient]:
    with TestClient(create_app(node, manage=False), headers=EDGE_AUTH) as test_client:
        yield test_client


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
