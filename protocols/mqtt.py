"""MQTT connection settings from a URL, a paho client built from them, jittered back-off.

``mqtt://user:password@host:1883`` or ``mqtts://host:8883?ca=/path/ca.pem``
(query options: ``ca``, ``cert``, ``key``, ``insecure=1``, ``protocol=5``).
"""

from __future__ import annotations

import random
import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True)
class BrokerUrl:
    """Where a broker is and how to log in; ``str()`` and ``repr()`` never show the password."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False
    protocol: int = 4  # 4 = MQTT 3.1.1 (every broker, amqtt too); 5 = MQTT 5

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {masked_url(url)!r} must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"broker URL {masked_url(url)!r} has no host")
        tls = parts.scheme in ("mqtts", "ssl")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        protocol = int(query.get("protocol", "4"))
        if protocol not in (4, 5):
            raise ValueError(f"broker URL {masked_url(url)!r}: protocol must be 4 (3.1.1) or 5")
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ca=query.get("ca"),
            cert=query.get("cert"),
            key=query.get("key"),
            insecure=query.get("insecure") in ("1", "true", "yes"),
            protocol=protocol,
        )

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def make_client(broker: BrokerUrl, client_id: str, *, clean: bool = True) -> mqtt.Client:
    """A paho client set up for ``broker``; connecting is left to the caller."""
    if broker.protocol == 5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=clean,
        )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(
            ca_certs=broker.ca,
            certfile=broker.cert,
            keyfile=broker.key,
            cert_reqs=ssl.CERT_NONE if broker.insecure else ssl.CERT_REQUIRED,
        )
        if broker.insecure:
            client.tls_insecure_set(True)
    return client


class Backoff:
    """Exponential back-off with full jitter, so a fleet of edges does not reconnect in step."""

    def __init__(self, initial: float = 0.2, maximum: float = 30.0) -> None:
        self.initial, self.maximum, self.attempt = initial, maximum, 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def masked_url(url: str) -> str:
    """``url`` with its password as ``***``: error messages end up in logs."""
    return re.sub(r"(//[^:/@]*:)[^/]*@", r"\1***@", url)
