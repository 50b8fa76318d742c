"""Edge and central through the plant's running Mosquitto (127.0.0.1:1883 by default).

Topics live under a root of this test's own, so nothing left on the broker by an
earlier run, or by anyone else, is seen.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from central.db import make_engine, migrate
from central.service import CentralSync
from central.settings import CentralSettings
from edge.node import EdgeNode
from edge.settings import EdgeSettings
from edge.uplink import client_id
from protocols.mqtt import BrokerUrl, make_client
from tests.helpers import unavailable
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.services

URL = os.environ.get("FLOORSYNC_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def test_events_cross_the_plant_broker_exactly_once(tmp_path: Path) -> None:
    broker = BrokerUrl.parse(URL)
    try:
        socket.create_connection((broker.host, broker.port), 2).close()
    except OSError as exc:
        unavailable(f"no MQTT broker at {broker}: {exc}")
    root = f"floorsync-test-{uuid.uuid4().hex[:10]}"
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    central = CentralSync(
        CentralSettings.model_validate(
            {"mqtt": {"url": URL, "topic_root": root, "client_id": f"central-{root}"}}
        ),
        engine,
    )
    node = EdgeNode(
        EdgeSettings.model_validate(
            {
                "node": {
                    "site": "plant9",
                    "area": "a",
                    "line": "l",
                    "name": root,
                    "data_dir": str(tmp_path / "edge"),
                },
                "mqtt": {"url": URL, "topic_root": root},
            }
        )
    )
    central.start()
    node.start()
    try:
        futures = [
            node.outbox.submit("operator_login", "ST-1", {"operator": f"EMP-{i:04d}"})
            for i in range(500)
        ]
        assert [f.result().seq for f in futures] == list(range(1, 501))
        wait_for("the outbox to drain", lambda: node.outbox.stats().depth == 0, 60)
        with engine.connect() as conn:
            seqs = conn.execute(sa.text("SELECT seq FROM events ORDER BY seq")).scalars().all()
        assert seqs == list(range(1, 501))
    finally:
        node.stop()
        central.stop()
        engine.dispose()
        forget_sessions(broker, [f"central-{root}", client_id(node.address)])


def forget_sessions(broker: BrokerUrl, client_ids: list[str]) -> None:
    """Leave the shared broker as we found it: drop the persistent sessions we made."""
    for session in client_ids:
        client = make_client(broker, session, clean=True)
        client.connect(broker.host, broker.port)
        client.loop(0.2)
        client.disconnect()
