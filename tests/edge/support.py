"""Helpers of the edge tests: polling with deadlines, sample events, and a small stand-in
for central written with paho (a test peer on the wire, not a mock of our code)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.outbox import Outbox
from protocols.contract import (
    Ack,
    EdgeAddress,
    TopicLayout,
    decode_batch,
    encode,
    validate_envelope,
)
from protocols.mqtt import BrokerUrl
from tests.helpers import wait_until

ADDRESS = EdgeAddress("plant1", "assembly", "line1", "edge1")
EDGE_ID = ADDRESS.path
LAYOUT = TopicLayout()


def stays(condition: Callable[[], Any], duration: float) -> bool:
    """True if ``condition`` holds at every poll for ``duration`` seconds."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(0.01)
    return bool(condition())


def login(n: int) -> tuple[str, str, dict[str, Any]]:
    """A small valid event: kind, station, payload."""
    return "operator_login", "ST-1", {"operator": f"op{n}"}


def append_many(outbox: Outbox, count: int) -> list[int]:
    return [outbox.append(*login(i)).seq for i in range(count)]


class Subscriber:
    """A plain MQTT client that records what arrives on its topic filters."""

    def __init__(self, broker_url: str, *topics: str, client_id: str = "") -> None:
        broker = BrokerUrl.parse(broker_url)
        self.marker_topic = f"test/marker/{uuid.uuid4().hex}"
        self.topics = (*topics, self.marker_topic)
        self.messages: list[mqtt.MQTTMessage] = []
        self.markers: set[bytes] = set()
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        wait_until(self.subscribed.is_set, what="subscription")

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def _on_disconnect(self, *_: object) -> None:
        self.subscribed.clear()

    def _on_subscribe(self, *_: object) -> None:
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.marker_topic:
            with self.lock:
                self.markers.add(bytes(msg.payload))
            return
        with self.lock:
            self.messages.append(msg)
        self.received(msg)

    def received(self, msg: mqtt.MQTTMessage) -> None:
        """Hook for subclasses; runs in paho's thread."""

    def sync(self) -> None:
        """Wait until everything the broker had for us when this was called has arrived."""
        marker = uuid.uuid4().bytes
        self.client.publish(self.marker_topic, marker, qos=1)
        wait_until(lambda: marker in self.markers, what="the marker message")

    def payloads(self) -> list[bytes]:
        with self.lock:
            return [bytes(m.payload) for m in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class FakeCentral(Subscriber):
    """Receives event batches for one edge and acknowledges them only when told to."""

    def __init__(self, broker_url: str, *, auto_ack: bool = False) -> None:
        self.auto_ack = auto_ack
        self.batches: list[list[int]] = []
        self.seen: set[int] = set()
        self.highest_contiguous = 0
        self.arrivals: list[float] = []  # time.monotonic() of each batch
        self.probes: list[str] = []  # the id of each probe, in arrival order
        self.probe_answer: int | None = None  # when set, each probe is answered with it
        super().__init__(broker_url, LAYOUT.events(ADDRESS), client_id="fake-central")

    def received(self, msg: mqtt.MQTTMessage) -> None:
        edge_id, events, probe = decode_batch(bytes(msg.payload))
        assert edge_id == EDGE_ID
        if probe is not None:
            with self.lock:
                self.probes.append(probe)
                answer = self.probe_answer
            if answer is not None:
                self.ack(answer, probe=probe)
            return
        seqs = [validate_envelope(e).seq for e in events]
        with self.lock:
            self.batches.append(seqs)
            self.arrivals.append(time.monotonic())
            self.seen.update(seqs)
            while self.highest_contiguous + 1 in self.seen:
                self.highest_contiguous += 1
            upto = self.highest_contiguous
        if self.auto_ack:
            self.ack(upto)

    def events_received(self) -> list[int]:
        with self.lock:
            return [seq for batch in self.batches for seq in batch]

    def ack(self, upto: int, edge_id: str = EDGE_ID, *, probe: str | None = None) -> None:
        ack = Ack(edge_id=edge_id, acked_seq=upto, ts=datetime.now(UTC), probe=probe)
        self.publish_ack(encode(ack))

    def publish_ack(self, raw: bytes) -> None:
        self.client.publish(LAYOUT.ack(ADDRESS), raw, qos=1)
