"""Central's MQTT side: subscribe to every edge, ingest, acknowledge after commit, track status."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine

from central.db.schema import edge_status
from central.db.upsert import upsert
from central.ingest import Ingestor
from central.settings import CentralSettings
from protocols.contract import Channel, ContractError, TopicLayout, decode_status, encode
from protocols.mqtt import BrokerUrl, make_client
from protocols.mqtt_loop import ClientLoop

log = logging.getLogger(__name__)


class CentralSync:
    """Runs the ingest on the MQTT loop thread: a batch is committed before it is PUBACKed."""

    def __init__(self, settings: CentralSettings, engine: Engine) -> None:
        self.settings = settings
        self.layout = TopicLayout(root=settings.mqtt.topic_root)
        self.ingestor = Ingestor(
            engine,
            self.layout,
            hold_limit=settings.ingest.hold_limit,
            gap_alarm_s=settings.ingest.gap_alarm_s,
        )
        self.engine = engine
        broker = BrokerUrl.parse(settings.mqtt.url)
        # A persistent session: while central is down the broker keeps what edges send.
        self.client = make_client(broker, settings.mqtt.client_id, clean=False)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.loop = ClientLoop(self.client, broker, name="central-mqtt")
        self.connected = False
        self.batches = 0
        self.ingest_seconds = 0.0
        self.last_batch_at: float | None = None

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def _filter(self, channel: Channel) -> str:
        topic = self.layout.all_edges(channel)
        group = self.settings.mqtt.shared_group
        return self.layout.shared(group, topic) if group else topic

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any = None
    ) -> None:
        if rc.is_failure:
            log.error("broker refused connection", extra={"reason": str(rc)})
            return
        client.subscribe([(self._filter(Channel.EVENTS), 1), (self._filter(Channel.STATUS), 1)])
        self.connected = True
        log.info("central connected", extra={"broker": str(self.loop.broker)})

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/" + Channel.STATUS.value):
            self._on_status(msg.topic, bytes(msg.payload))
            return
        started = time.perf_counter()
        try:
            outcome = self.ingestor.handle(msg.topic, bytes(msg.payload))
        except Exception:
            # Nothing was committed; the edge sends the batch again, so nothing is lost.
            log.exception("ingest failed; the edge will resend", extra={"topic": msg.topic})
            return
        self.batches += 1
        self.ingest_seconds += time.perf_counter() - started
        self.last_batch_at = time.time()
        if outcome.ack is not None:
            address, _, _ = self.layout.parse(msg.topic)
            client.publish(self.layout.ack(address), encode(outcome.ack), qos=1)

    def _on_status(self, topic: str, raw: bytes) -> None:
        try:
            address, _, _ = self.layout.parse(topic)
            status = decode_status(raw)
            if status.edge_id != address.path:
                raise ContractError(f"status for {status.edge_id!r} on topic of {address.path!r}")
        except ContractError as exc:
            log.warning(
                "ignored malformed edge status", extra={"topic": topic, "reason": exc.reason}
            )
            return
        row = {
            "edge_id": status.edge_id,
            "state": status.state,
            "reason": status.reason,
            "since": status.ts,
            "software": status.software,
        }
        try:
            with self.engine.begin() as conn:
                upsert(conn, edge_status, [row], replace=("state", "reason", "since", "software"))
        except Exception:
            # Raised into paho it would end the MQTT thread, and with it all ingest.
            log.exception("edge status not stored", extra={"topic": topic})
            return
        log.info(
            "edge status",
            extra={"edge_id": status.edge_id, "state": status.state, "reason": status.reason},
        )

    def health(self) -> dict[str, Any]:
        return {
            "mqtt_connected": self.client.is_connected(),
            "batches": self.batches,
            "last_batch_at": datetime.fromtimestamp(self.last_batch_at, UTC).isoformat()
            if self.last_batch_at
            else None,
        }
