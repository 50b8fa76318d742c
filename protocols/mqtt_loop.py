"""A paho client driven by a thread of ours, reconnecting with jittered back-off.

paho's own ``loop_start`` reconnects in step (no jitter); a plant of edges that
lost their broker together would then hammer it together when it returns.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from protocols.mqtt import Backoff, BrokerUrl

log = logging.getLogger(__name__)


class ClientLoop:
    """Keeps ``client`` connected to ``broker`` until ``stop()``; callbacks run in its thread."""

    def __init__(
        self,
        client: mqtt.Client,
        broker: BrokerUrl,
        *,
        keepalive: int = 15,
        backoff: Backoff | None = None,
        name: str = "mqtt",
        before_connect: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        # With a write callback set, paho's publish() from another thread only queues the
        # packet and wakes our select(); without one it writes to the socket itself, and two
        # threads writing interleave the bytes of two packets.
        client.on_socket_register_write = _loop_thread_writes
        self.broker = broker
        self.keepalive = keepalive
        self.backoff = backoff or Backoff()
        self.before_connect = before_connect
        self.connects = 0
        self.connect_failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(
        self,
        timeout: float = 5.0,
        farewell: Callable[[mqtt.Client], mqtt.MQTTMessageInfo] | None = None,
    ) -> None:
        """Stop the loop; if still connected, publish ``farewell`` and disconnect cleanly."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)
        try:
            if not self.client.is_connected():
                return
            if farewell:
                info = farewell(self.client)
                deadline = time.monotonic() + min(timeout, 2.0)
                while not info.is_published() and time.monotonic() < deadline:
                    if self.client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                        break
            self.client.disconnect()
            self.client.loop(timeout=0.05)
        finally:
            # loop() opened paho's wake-up socket pair; paho closes it only in __del__, and
            # the collector may finalise the sockets first (a ResourceWarning): close it now
            self.client._reset_sockets(sockpair_only=True)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        failing_since_logged = False
        while not self._stop.is_set():
            try:
                if self.before_connect:
                    self.before_connect()
                self.client.connect(self.broker.host, self.broker.port, self.keepalive)
                # Small QoS 1 messages and their acks must not wait for Nagle's algorithm:
                # it added ~100 ms to every edge commit -> central ack round trip.
                sock = self.client.socket()
                if isinstance(sock, socket.socket):  # also true of TLS sockets
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, mqtt.WebsocketConnectionError) as exc:
                self.connect_failures += 1
                delay = self.backoff.next_delay()
                if not failing_since_logged:
                    log.warning(
                        "broker unreachable",
                        extra={"broker": str(self.broker), "error": str(exc), "retry_s": delay},
                    )
                    failing_since_logged = True
                self._stop.wait(delay)
                continue
            if failing_since_logged:
                log.info("broker reachable again", extra={"broker": str(self.broker)})
                failing_since_logged = False
            self.connects += 1
            self.backoff.reset()
            rc = mqtt.MQTT_ERR_SUCCESS
            while not self._stop.is_set() and rc == mqtt.MQTT_ERR_SUCCESS:
                rc = self.client.loop(timeout=0.5)
            if self._stop.is_set():
                return
            log.warning("broker connection lost", extra={"broker": str(self.broker), "rc": int(rc)})
            self._stop.wait(self.backoff.next_delay())


def _loop_thread_writes(_client: mqtt.Client, _userdata: object, _sock: object) -> None:
    """Nothing to do: the loop thread sees the queued packet and writes it."""
