"""Central's MQTT side: subscribe to every edge, ingest, acknowledge after commit, track status."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine

from central.aftersales.jobs import RfmJobs
from central.db.engine import reading, writing
from central.db.schema import edge_status
from central.db.upsert import upsert
from central.ingest import Ingestor
from central.orders import dispatch
from central.replanner import Replanner
from central.settings import CentralSettings
from protocols.changes import Changes
from protocols.contract import (
    Channel,
    Command,
    ContractError,
    EdgeAddress,
    TopicLayout,
    decode_status,
    encode,
)
from protocols.mqtt import BrokerUrl, make_client
from protocols.mqtt_loop import ClientLoop

log = logging.getLogger(__name__)

DISPATCH_SWEEP_S = 2.0


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
        self.commands_published = 0
        self._dispatch_wake = threading.Event()
        self._dispatch_stop = threading.Event()
        self._republish = False
        self._dispatcher = threading.Thread(
            target=self._run_dispatcher, name="central-dispatch", daemon=True
        )
        # what web pages wait on (``planning``: predicted finishes moved; ``floor``: events applied)
        self.changes = Changes()
        self.replanner = Replanner(engine, self.changes)
        self.rfm_jobs = RfmJobs(engine, settings.rfm)

    def start(self) -> None:
        self.loop.start()
        self._dispatcher.start()
        self.replanner.start()
        self.rfm_jobs.start()

    def stop(self) -> None:
        self._dispatch_stop.set()
        self._dispatch_wake.set()
        if self._dispatcher.is_alive():
            self._dispatcher.join(10)
        self.replanner.stop()
        self.rfm_jobs.stop()
        self.loop.stop()

    def dispatch_changed(self) -> None:
        """A dispatch list or master data changed: publish it now, not at the next sweep."""
        self._dispatch_wake.set()

    def _run_dispatcher(self) -> None:
        """Publish new dispatches as retained commands; all of them again after a reconnect.

        A row is marked published only once the broker has it, so a broker that was down
        gets it at the next sweep; retained, it reaches an edge that connects later.
        """
        while not self._dispatch_stop.is_set():
            self._dispatch_wake.wait(DISPATCH_SWEEP_S)
            self._dispatch_wake.clear()
            if self._dispatch_stop.is_set() or not self.client.is_connected():
                continue
            republish, self._republish = self._republish, False
            try:
                self._publish_dispatches(everything=republish)
            except Exception:
                log.exception("dispatch publishing failed; retrying at the next sweep")
                self._republish = self._republish or republish

    def _publish_dispatches(self, *, everything: bool) -> None:
        with reading(self.engine).connect() as conn:
            rows = dispatch.current(conn) if everything else dispatch.unpublished(conn)
        for row in rows:
            command = Command(
                command=row.command,
                edge_id=row.edge_id,
                version=row.version,
                issued_at=row.issued_at,
                body=row.body,
            )
            topic = self.layout.command(EdgeAddress(*row.edge_id.split("/")), row.command)
            info = self.client.publish(topic, encode(command), qos=1, retain=True)
            info.wait_for_publish(timeout=10)
            if not info.is_published():
                raise TimeoutError(f"broker did not take {row.command} for {row.edge_id}")
            with writing(self.engine).begin() as conn:
                dispatch.mark_published(conn, row.edge_id, row.command, row.version)
            self.commands_published += 1
            log.info(
                "command published",
                extra={"edge_id": row.edge_id, "command": row.command, "version": row.version},
            )

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
        # A broker restarted without persistence lost the retained commands: send them again.
        self._republish = True
        self._dispatch_wake.set()
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
        if outcome.applied:
            self.changes.bump("floor")
            self.replanner.floor_changed()

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
            with writing(self.engine).begin() as conn:
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
