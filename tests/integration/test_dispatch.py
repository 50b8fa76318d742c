"""Releasing a production order reaches the line's edge: dispatch list and master data,
retained and versioned, cached in the edge's SQLite, and sent again after a broker restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from central.db import make_engine, migrate
from central.db.domain import dispatches
from central.orders import dispatch, production, sales
from central.service import CentralSync
from central.settings import CentralSettings, DatabaseSettings, MqttSettings
from edge.node import EdgeNode
from edge.settings import EdgeSettings
from tests.central.conftest import EDGE
from tests.central.test_orders import company
from tests.helpers import Mosquitto, free_port, wait_until

pytestmark = pytest.mark.services
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def release_order(engine: Engine, sync: CentralSync) -> str:
    with engine.begin() as conn:
        number = sales.create(
            conn,
            customer="ACME",
            type="make_to_order",
            lines=[{"item": "VALVE-50", "quantity": 10}],
            now=NOW,
        )
        wo = str(sales.confirm(conn, number, NOW)["production_orders"][0])
        dispatch.refresh(conn, production.release(conn, wo, NOW), NOW)
    sync.dispatch_changed()
    return wo


def test_a_released_order_reaches_the_edge_and_survives_a_broker_restart(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    with engine.begin() as conn:
        company(conn)
    sync = CentralSync(
        CentralSettings(
            database=DatabaseSettings(url=str(engine.url)),
            mqtt=MqttSettings(url=mosquitto.url, client_id="central-dispatch-test"),
        ),
        engine,
    )
    site, area, line, name = EDGE.split("/")
    node = EdgeNode(
        EdgeSettings.model_validate(
            {
                "node": {
                    "site": site,
                    "area": area,
                    "line": line,
                    "name": name,
                    "data_dir": str(tmp_path / "edge"),
                },
                "mqtt": {"url": mosquitto.url},
                "http": {"port": free_port()},
            }
        )
    )
    sync.start()
    node.start()
    try:
        wo = release_order(engine, sync)

        def cached(version: int) -> bool:
            got = node.downlink.current("dispatch_list")
            return got is not None and got[0] == version

        wait_until(lambda: cached(1), what="the dispatch list at the edge")
        _, listing = node.downlink.current("dispatch_list") or (0, {})
        assert [o["work_order"] for o in listing["orders"]] == [wo]
        assert [op["operation"] for op in listing["orders"][0]["operations"]] == ["10", "20"]
        wait_until(lambda: node.downlink.current("master_data") is not None, what="master data")
        _, data = node.downlink.current("master_data") or (0, {})
        assert {row["component"] for row in data["bom"]} == {"BODY-50", "SEAL-50"}
        with engine.connect() as conn:
            assert all(r.published for r in conn.execute(select(dispatches)))

        # The broker restarts without persistence: retained commands are gone, and central
        # sends them again on reconnect; a second release then arrives as version 2.
        published = sync.commands_published
        mosquitto.restart()
        wait_until(
            lambda: sync.commands_published >= published + 2,
            what="both commands sent again after the restart",
            timeout=30,
        )
        wo2 = release_order(engine, sync)
        wait_until(lambda: cached(2), what="version 2 after the broker restart", timeout=30)
        _, listing = node.downlink.current("dispatch_list") or (0, {})
        assert [o["work_order"] for o in listing["orders"]] == [wo, wo2]
    finally:
        node.stop()
        sync.stop()
        engine.dispose()
