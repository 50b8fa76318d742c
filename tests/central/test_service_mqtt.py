"""CentralSync against a real Mosquitto: batches in, acks out after commit, edge status tracked."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, event

from central.db.schema import edge_status
from central.service import CentralSync
from central.settings import CentralSettings, DatabaseSettings, MqttSettings
from protocols.contract import Ack, EdgeAddress, decode_ack
from tests.central.conftest import (
    EDGE,
    EDGE_B,
    LAYOUT,
    batch,
    dead,
    envelope,
    rows,
    stored_seqs,
    wait_for,
)

pytestmark = pytest.mark.services


def address(edge_id: str) -> EdgeAddress:
    return EdgeAddress(*edge_id.split("/"))


def status(edge_id: str, state: str = "online", reason: str = "connected") -> bytes:
    return orjson.dumps(
        {
            "v": 1,
            "edge_id": edge_id,
            "state": state,
            "ts": "2026-03-02T06:00:00Z",
            "reason": reason,
            "software": "floorsync 0.1.0",
        }
    )


class FakeEdge:
    """The MQTT side of an edge node, as plain paho: publishes batches, collects its acks."""

    def __init__(self, port: int, edge_id: str = EDGE) -> None:
        self.edge = address(edge_id)
        self.acks: queue.Queue[Ack] = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"edge-{uuid.uuid4()}")
        self.client.on_message = lambda _c, _u, msg: self.acks.put(decode_ack(msg.payload))
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_connect = lambda c, *_: c.subscribe(LAYOUT.ack(self.edge), qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise AssertionError("the fake edge did not get its ack subscription")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def send(self, *envelopes: dict[str, Any]) -> None:
        self.publish(LAYOUT.events(self.edge), batch(*envelopes, edge_id=self.edge.path))

    def next_ack(self, timeout: float = 10.0) -> Ack:
        try:
            return self.acks.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no ack within {timeout} s") from None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def central(mosquitto: Any, sqlite_engine: Engine) -> Iterator[CentralSync]:
    settings = CentralSettings(
        database=DatabaseSettings(url=sqlite_engine.url.render_as_string()),
        mqtt=MqttSettings(url=mosquitto.url, client_id=f"central-{uuid.uuid4()}"),
    )
    sync = CentralSync(settings, sqlite_engine)
    sync.start()
    yield sync
    sync.stop()


@pytest.fixture
def edge(mosquitto: Any) -> Iterator[FakeEdge]:
    edge = FakeEdge(mosquitto.port)
    yield edge
    edge.close()


def status_of(engine: Engine, edge_id: str) -> dict[str, Any] | None:
    return next((r for r in rows(engine, edge_status) if r["edge_id"] == edge_id), None)


def wait_until_subscribed(sync: CentralSync, edge: FakeEdge, probe: str = EDGE) -> None:
    """A retained status reaches central once its subscriptions stand (events share them)."""
    edge.publish(LAYOUT.status(address(probe)), status(probe), retain=True)
    wait_for(lambda: status_of(sync.engine, probe), what="central to see the retained status")


def test_batch_is_stored_then_acked_over_mqtt(central: CentralSync, edge: FakeEdge) -> None:
    wait_until_subscribed(central, edge)

    edge.send(envelope(1), envelope(2), envelope(3))

    ack = edge.next_ack()
    assert (ack.edge_id, ack.acked_seq) == (EDGE, 3)
    assert stored_seqs(central.engine) == [1, 2, 3]  # committed before the ack went out

    edge.send(envelope(5))
    assert edge.next_ack().acked_seq == 3  # held behind seq 4
    assert stored_seqs(central.engine) == [1, 2, 3]

    edge.send(envelope(4))
    assert edge.next_ack().acked_seq == 5
    assert stored_seqs(central.engine) == [1, 2, 3, 4, 5]
    assert central.batches == 3
    assert central.health()["mqtt_connected"] is True


def test_spoofed_batch_is_dead_lettered_over_mqtt(central: CentralSync, edge: FakeEdge) -> None:
    wait_until_subscribed(central, edge)

    edge.publish(LAYOUT.events(address(EDGE_B)), batch(envelope(1)))  # EDGE's batch, B's topic
    edge.send(envelope(1))

    assert edge.next_ack().acked_seq == 1
    letters = wait_for(lambda: dead(central.engine), what="the dead letter")
    assert [(d["edge_id"], d["seq"]) for d in letters] == [(EDGE_B, None)]
    assert stored_seqs(central.engine, EDGE_B) == []
    assert stored_seqs(central.engine) == [1]


def test_retained_status_updates_edge_status(
    mosquitto: Any, sqlite_engine: Engine, edge: FakeEdge
) -> None:
    # Retained before central runs: central gets it when it subscribes.
    edge.publish(LAYOUT.status(edge.edge), status(EDGE), retain=True)
    settings = CentralSettings(
        database=DatabaseSettings(url=sqlite_engine.url.render_as_string()),
        mqtt=MqttSettings(url=mosquitto.url, client_id=f"central-{uuid.uuid4()}"),
    )
    sync = CentralSync(settings, sqlite_engine)
    sync.start()
    try:
        online = wait_for(lambda: status_of(sqlite_engine, EDGE), what="the edge status")
        assert online == {
            "edge_id": EDGE,
            "state": "online",
            "reason": "connected",
            "since": datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
            "software": "floorsync 0.1.0",
        }

        edge.publish(
            LAYOUT.status(edge.edge), status(EDGE, "offline", "connection_lost"), retain=True
        )
        offline = wait_for(
            lambda: (s := status_of(sqlite_engine, EDGE)) and s["state"] == "offline" and s,
            what="the offline status",
        )
        assert offline["reason"] == "connection_lost"
    finally:
        sync.stop()


def test_malformed_status_is_ignored(
    central: CentralSync, edge: FakeEdge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="central.service")
    topic_b = LAYOUT.status(address(EDGE_B))
    malformed = [
        b"not json",
        b"",  # a cleared retained status
        status(EDGE),  # EDGE's status on EDGE_B's topic
        orjson.dumps({**orjson.loads(status(EDGE_B)), "state": "asleep"}),
    ]
    wait_until_subscribed(central, edge)

    for raw in malformed:
        edge.publish(topic_b, raw)

    def ignored() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "ignored malformed edge status"]

    wait_for(lambda: len(ignored()) == len(malformed), what="central to ignore each one")
    assert {r.__dict__["topic"] for r in ignored()} == {topic_b}
    assert status_of(central.engine, EDGE_B) is None
    assert [r["edge_id"] for r in rows(central.engine, edge_status)] == [EDGE]

    edge.send(envelope(1))  # central goes on working
    assert edge.next_ack().acked_seq == 1


def test_a_status_that_cannot_be_stored_does_not_stop_central(
    central: CentralSync, edge: FakeEdge, caplog: pytest.LogCaptureFixture
) -> None:
    wait_until_subscribed(central, edge)
    failures = [1]

    def fail(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if failures and statement.startswith("INSERT INTO edge_status"):
            failures.pop()
            raise RuntimeError("database gone")

    event.listen(central.engine, "before_cursor_execute", fail)
    try:
        edge.publish(LAYOUT.status(address(EDGE_B)), status(EDGE_B))
        wait_for(lambda: not failures, what="the failing status write")

        edge.send(envelope(1))
        assert edge.next_ack().acked_seq == 1
    finally:
        event.remove(central.engine, "before_cursor_execute", fail)
    assert any(r.getMessage() == "edge status not stored" for r in caplog.records)
