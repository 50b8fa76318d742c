"""The demo's embedded MQTT broker (amqtt), running on its own event loop thread.

It takes only the logins it is given and applies the same topic rules as the
Mosquitto ACL that ``floorsync security init`` writes: an edge publishes only its
own events and status and subscribes only to its own acks and commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from paho.mqtt.client import topic_matches_sub

from floorsync.security import Identity

log = logging.getLogger(__name__)


def _digest(password: str) -> str:
    # the demo's passwords are random tokens: a plain digest keeps them out of memory
    return hashlib.sha256(password.encode()).hexdigest()


class PasswordAuthPlugin(BaseAuthPlugin):
    """Lets in only a known username with its password; anonymous clients are refused."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)  # username -> sha256 of password
        publish: dict[str, list[str]] = field(default_factory=dict)  # for the will's topic

    async def authenticate(self, *, session: Session) -> bool:
        expected = self.config.users.get(session.username or "")
        given = _digest(session.password or "")
        if expected is None or not hmac.compare_digest(expected, given):
            return False
        # amqtt publishes a will without asking the topic plugin: a will on another edge's
        # topics (a forged ack) is refused here, with the login
        if session.will_flag:
            allowed = self.config.publish.get(session.username or "", [])
            return any(topic_matches_sub(f, session.will_topic or "") for f in allowed)
        return True


class TopicAclPlugin(BaseTopicPlugin):
    """Per username, the topics it may publish to and the filters it may subscribe to."""

    @dataclass
    class Config:
        publish: dict[str, list[str]] = field(default_factory=dict)
        subscribe: dict[str, list[str]] = field(default_factory=dict)

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool:
        if not session or not session.username or not topic:
            return False
        if action is Action.RECEIVE:
            # checked when it subscribed, and again here: amqtt resumes a session by client
            # id alone, so another login could inherit its subscriptions
            allowed = self.config.subscribe.get(session.username, [])
            return any(topic_matches_sub(_plain(f), topic) for f in allowed)
        if action is Action.PUBLISH:
            allowed = self.config.publish.get(session.username, [])
            return any(topic_matches_sub(f, topic) for f in allowed)
        allowed = self.config.subscribe.get(session.username, [])
        # a wildcard subscription must be one it was granted: "a/#" is not inside "a/+"
        if "+" in topic or "#" in topic:
            return topic in allowed
        return any(topic_matches_sub(f, topic) for f in allowed)


def _plain(topic_filter: str) -> str:
    """A shared subscription's filter without its ``$share/<group>/`` prefix."""
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


class EmbeddedBroker:
    """A pure-Python MQTT 3.1.1 broker for the one-command demo; use Mosquitto beyond that."""

    def __init__(
        self, logins: Iterable[tuple[Identity, str]], host: str = "127.0.0.1", port: int = 1883
    ) -> None:
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        logins = list(logins)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {
                f"{__name__}.PasswordAuthPlugin": {
                    "users": {i.username: _digest(password) for i, password in logins},
                    "publish": {i.username: list(i.publish) for i, _ in logins},
                },
                f"{__name__}.TopicAclPlugin": {
                    "publish": {i.username: list(i.publish) for i, _ in logins},
                    "subscribe": {i.username: list(i.subscribe) for i, _ in logins},
                },
            },
        }
        self._config = config
        self._broker: Broker | None = None  # made on its own thread, with its loop current
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            # amqtt makes futures as it is built, on the thread's current loop: built here,
            # they belong to the loop that runs it, whatever the caller's thread has set
            self._broker = Broker(self._config, loop=self._loop)
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
            self._thread.join(1.0)
            self.stop()
            raise RuntimeError(f"embedded broker failed to start: {self._error}")
        log.info("embedded broker listening", extra={"url": self.url})

    def stop(self, timeout: float = 3.0) -> None:
        if self._thread.is_alive() and self._broker is not None:
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
            with contextlib.suppress(Exception):
                future.result(timeout)  # amqtt may wait on clients that are already gone
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()  # its self-pipe sockets, also after a failed start
