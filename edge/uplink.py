"""Uplink: drains the outbox to central in batches, in order, and deletes on central's ack.

Batches go out at QoS 1 with a bounded window of unacknowledged batches. Rows are
deleted only when central's end-to-end ack covers them. What is not acknowledged
in time, or was in flight when the connection dropped, is sent again; central
stores each (edge, seq) once, so a resend is harmless.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from edge.outbox import Outbox
from protocols.contract import (
    Ack,
    ContractError,
    EdgeAddress,
    EdgeStatus,
    TopicLayout,
    decode_ack,
    encode,
    encode_batch,
)
from protocols.mqtt import Backoff, BrokerUrl, make_client
from protocols.mqtt_loop import ClientLoop

log = logging.getLogger(__name__)

SOFTWARE = "floorsync-edge/0.1"


@dataclass(frozen=True)
class UplinkSettings:
    batch_events: int = 500  # events per MQTT message
    window: int = 8  # batches in flight, unacknowledged
    ack_timeout_s: float = 5.0  # no ack progress for this long: send again from the last ack
    max_rate: float = 0.0  # events/s cap on sending (0 = paced by central's acks only)
    keepalive_s: int = 15


@dataclass
class InFlight:
    """A batch sent and not yet acknowledged: events ``first`` to ``last``."""

    first: int
    last: int


def client_id(address: EdgeAddress) -> str:
    """Unique per edge across the plant: two lines may each have an ``edge1``."""
    return "floorsync-edge." + address.path.replace("/", ".")


class Uplink:
    """One edge's MQTT session: events up, acks and commands down, birth and last will."""

    def __init__(
        self,
        outbox: Outbox,
        address: EdgeAddress,
        broker: BrokerUrl,
        *,
        layout: TopicLayout | None = None,
        settings: UplinkSettings | None = None,
        on_command: Callable[[str, bytes], None] | None = None,
        on_ack: Callable[[int, float], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.address = address
        self.edge_id = address.path
        self.layout = layout or TopicLayout()
        self.settings = settings or UplinkSettings()
        self.on_command = on_command
        self.on_ack = on_ack
        self.events_topic = self.layout.events(address)
        self.ack_topic = self.layout.ack(address)
        self.status_topic = self.layout.status(address)
        # A restored edge starts a clean session: acks queued for the edge it replaces
        # would tell it a stale sequence number (see ``_probe``).
        restored = outbox.restored_seq is not None
        self.client = make_client(broker, client_id=client_id(address), clean=restored)
        self.client.max_inflight_messages_set(max(20, self.settings.window * 2))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.loop = ClientLoop(
            self.client,
            broker,
            keepalive=self.settings.keepalive_s,
            backoff=Backoff(0.2, 15.0),
            name="uplink-mqtt",
            before_connect=self._set_will,
        )
        self._lock = threading.Condition()
        self._ready = False  # connected and subscribed to acks
        self._subscribe_mid: int | None = None
        self._sent_seq = outbox.acked_seq
        self._acked_seq = outbox.acked_seq  # newest ack seen; the outbox deletes behind it
        self._inflight: deque[InFlight] = deque()
        self._generation = 0  # bumped by every rewind, so a batch sent across one is not counted
        self._last_progress = time.monotonic()
        self._probed_at: float | None = None  # a restored edge asked central for its seq
        self._probe_id: str | None = None  # that probe's id: only an ack echoing it answers
        self._stop = threading.Event()
        self._pump_thread = threading.Thread(target=self._pump, name="uplink-pump", daemon=True)
        self.batches_sent = 0
        self.events_sent = 0
        self.resends = 0
        self.last_ack_wall: float | None = None
        # told True when connected and subscribed, False when the connection is lost
        self.on_connection: Callable[[bool], None] = lambda _: None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self.loop.start()
        self._pump_thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        if self._pump_thread.ident is not None:  # a node that never started can still stop
            self._pump_thread.join(5)
        self.loop.stop(
            farewell=lambda c: c.publish(
                self.status_topic, self._status("offline", "shutdown"), qos=1, retain=True
            )
        )

    @property
    def connected(self) -> bool:
        return self._ready

    def _status(
        self,
        state: Literal["online", "offline"],
        reason: Literal["connected", "shutdown", "connection_lost"],
    ) -> bytes:
        return encode(
            EdgeStatus(
                edge_id=self.edge_id,
                state=state,
                ts=datetime.now(UTC),
                reason=reason,
                software=SOFTWARE,
            )
        )

    def _set_will(self) -> None:
        self.client.will_set(
            self.status_topic, self._status("offline", "connection_lost"), qos=1, retain=True
        )

    # -- paho callbacks (run in the MQTT loop thread) ---------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object = None
    ) -> None:
        if rc.is_failure:
            log.error("broker refused connection", extra={"reason": str(rc)})
            return
        _, mid = client.subscribe(
            [(self.ack_topic, 1), (self.layout.commands_filter(self.address), 1)]
        )
        with self._lock:
            self._subscribe_mid = mid
        client.publish(self.status_topic, self._status("online", "connected"), qos=1, retain=True)
        log.info("uplink connected", extra={"edge_id": self.edge_id, "topic": self.events_topic})

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, mid: int, _rc: object, _p: object = None
    ) -> None:
        with self._lock:
            if mid == self._subscribe_mid:
                self._ready = True
                # Whatever was in flight before may be lost: send again from the last ack.
                self._rewind("connected")
                self._lock.notify_all()
            else:
                return
        self.on_connection(True)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object = None
    ) -> None:
        with self._lock:
            self._ready = False
            self._probed_at = self._probe_id = None
        log.warning("uplink disconnected", extra={"edge_id": self.edge_id, "reason": str(rc)})
        self.on_connection(False)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.ack_topic:
            self._handle_ack(bytes(msg.payload))
        elif self.on_command is not None:
            self.on_command(msg.topic, bytes(msg.payload))

    def _handle_ack(self, raw: bytes) -> None:
        try:
            ack = decode_ack(raw)
        except ContractError as exc:
            log.warning("ignored malformed ack", extra={"reason": exc.reason})
            return
        if ack.edge_id != self.edge_id:
            log.warning("ignored ack for another edge", extra={"ack_edge_id": ack.edge_id})
            return
        if self.outbox.restored_seq is not None:
            self._resync(ack)
            return
        if ack.acked_seq > self.outbox.last_seq:
            log.error(
                "central acknowledged events this edge never recorded; edge store replaced?",
                extra={"acked_seq": ack.acked_seq, "last_seq": self.outbox.last_seq},
            )
            return
        now = time.monotonic()
        with self._lock:
            if ack.acked_seq <= self._acked_seq:
                return
            self._acked_seq = ack.acked_seq
            while self._inflight and self._inflight[0].last <= ack.acked_seq:
                self._inflight.popleft()
            if self._inflight and self._inflight[0].first <= ack.acked_seq:
                self._inflight[0].first = ack.acked_seq + 1
            self._last_progress = now
            self.last_ack_wall = time.time()
            self._lock.notify_all()
        self.outbox.ack(ack.acked_seq)
        if self.on_ack:
            self.on_ack(ack.acked_seq, self.last_ack_wall)

    def _resync(self, ack: Ack) -> None:
        """The answer to a restored edge's probe: continue above what central has.

        Any other ack is ignored meanwhile: one for a batch of the edge's previous run,
        which central may still be applying, would name a seq central is about to pass.
        """
        with self._lock:
            answers = ack.probe is not None and ack.probe == self._probe_id
        if not answers:
            log.debug(
                "ignored an ack while waiting for the answer to the probe",
                extra={"edge_id": self.edge_id, "acked_seq": ack.acked_seq, "probe": ack.probe},
            )
            return
        central_seq = ack.acked_seq
        restored = self.outbox.restored_seq
        try:
            renumbered = self.outbox.resync(central_seq).result()
        except Exception as exc:  # a full or closed store: the next probe asks again
            # (raised here it would end paho's network thread, and the edge with it)
            log.error(
                "could not resync the edge store with central",
                extra={"edge_id": self.edge_id, "central_seq": central_seq, "error": str(exc)},
            )
            return
        with self._lock:
            self._acked_seq = self.outbox.acked_seq
            self._rewind("resynced after restore")
            self.last_ack_wall = time.time()
            self._lock.notify_all()
        log.warning(
            "restored edge store resynced with central",
            extra={
                "edge_id": self.edge_id,
                "restored_seq": restored,
                "central_seq": central_seq,
                "renumbered": renumbered,
                "next_seq": self.outbox.last_seq + 1,
            },
        )

    def _probe(self) -> None:
        """Ask central where this edge's sequence stands: an empty batch with a new probe
        id, answered by an ack that echoes it; asked again with another id on ack timeout.

        A restored edge sends nothing else until the answer comes (``_resync``).
        """
        now = time.monotonic()
        with self._lock:
            if not self._ready or (
                self._probed_at is not None and now - self._probed_at < self.settings.ack_timeout_s
            ):
                return
            self._probed_at = now
            self._probe_id = probe = secrets.token_hex(8)
        self.client.publish(self.events_topic, encode_batch(self.edge_id, [], probe=probe), qos=1)

    # -- the pump (its own thread) ---------------------------------------------

    def _rewind(self, why: str) -> None:
        """Send again everything after the last ack (caller holds the lock)."""
        acked = self._acked_seq
        if self._sent_seq > acked:
            self.resends += 1
            log.info(
                "resending unacknowledged events",
                extra={"edge_id": self.edge_id, "from_seq": acked + 1, "why": why},
            )
        self._sent_seq = acked
        self._generation += 1
        self._inflight.clear()
        self._last_progress = time.monotonic()

    def _pump(self) -> None:
        s = self.settings
        tokens, refilled = float(s.batch_events), time.monotonic()
        while not self._stop.is_set():
            if self.outbox.restored_seq is not None:
                self._probe()
                self._stop.wait(0.05)
                continue
            with self._lock:
                now = time.monotonic()
                if self._inflight and now - self._last_progress > s.ack_timeout_s:
                    self._rewind("ack timeout")
                sent_seq, generation = self._sent_seq, self._generation
                waiting = self.outbox.last_seq - sent_seq
                idle = not self._inflight
                # Send at once when nothing is in flight, or when a full batch is ready;
                # otherwise let the events gather until the next ack: many small batches
                # queue at central and each costs it a transaction.
                can_send = (
                    self._ready
                    and waiting > 0
                    and (idle or (len(self._inflight) < s.window and waiting >= s.batch_events))
                )
                if not can_send and not (self._ready and idle):
                    # Offline, or batches in flight and too few events for a full one: an ack
                    # or a connect wakes us; the outbox filling up is looked at every 10 ms.
                    self._lock.wait(0.01 if self._ready else 0.2)
                    continue
            if not can_send:  # connected and nothing to send: wait for the next event
                self.outbox.wait_for_new(sent_seq, timeout=0.2)
                continue
            limit = s.batch_events
            if s.max_rate > 0:
                now = time.monotonic()
                tokens = min(float(s.batch_events), tokens + (now - refilled) * s.max_rate)
                refilled = now
                if tokens < 1:
                    time.sleep((1 - tokens) / s.max_rate)
                    continue
                limit = max(1, min(limit, int(tokens)))
            rows = self.outbox.read_after(sent_seq, limit)
            if not rows:
                continue
            payload = encode_batch(self.edge_id, [body for _, body in rows])
            # Never publish holding our lock: paho takes its callback lock inside publish(),
            # and its loop thread holds that lock while our callbacks wait for ours.
            info = self.client.publish(self.events_topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                self._stop.wait(0.05)
                continue
            with self._lock:
                if self._generation != generation:
                    continue  # rewound meanwhile: that batch is a duplicate central will ignore
                now = time.monotonic()
                if not self._inflight:
                    self._last_progress = now
                self._inflight.append(InFlight(rows[0][0], rows[-1][0]))
                self._sent_seq = rows[-1][0]
            if s.max_rate > 0:
                tokens -= len(rows)
            self.batches_sent += 1
            self.events_sent += len(rows)

    def unsent_from(self) -> int:
        """The first sequence number not yet sent in this connection."""
        return self._sent_seq + 1
