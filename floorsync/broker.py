"""The demo's embedded MQTT broker (amqtt), running on its own event loop thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from amqtt.broker import Broker

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """A pure-Python MQTT 3.1.1 broker for the one-command demo; use Mosquitto beyond that."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._broker = Broker(config, loop=self._loop)
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("embedded broker did not start")
        if self._error:
            raise RuntimeError(f"embedded broker failed to start: {self._error}")
        log.info("embedded broker listening", extra={"url": self.url})

    def stop(self, timeout: float = 3.0) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(timeout)  # amqtt may wait on clients that are already gone
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
