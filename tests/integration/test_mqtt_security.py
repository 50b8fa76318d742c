"""MQTT security as a plant meets it: `floorsync security init` files run a real Mosquitto
with TLS, a login per edge and central, and an ACL that keeps each edge in its own subtree;
the demo's embedded broker refuses strangers too."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from floorsync.broker import EmbeddedBroker
from floorsync.certs import issue, make_ca
from floorsync.security import broker_url, central_identity, edge_identity
from protocols.contract import EdgeAddress, TopicLayout
from protocols.mqtt import BrokerUrl, make_client
from tests.helpers import EDGE_API_TOKENS_TOML, EDGE_AUTH, free_port, wait_port
from tests.integration.conftest import Proc, wait_for

EDGE1 = "plant1/assembly/line1/edge1"
EDGE2 = "plant1/assembly/line2/edge1"
ROOT = "floorsync/v1"
NOT_AUTHORIZED = 0x87
# PUBACK 0 or 0x10 "no matching subscribers" (Mosquitto 2.0 counts no shared subscribers)
ACCEPTED = (0x00, 0x10)


class Client:
    """An MQTT client that records its CONNACK, PUBACKs, SUBACKs and messages."""

    def __init__(self, url: str, client_id: str, protocol: int = 5) -> None:
        sep = "&" if "?" in url else "?"
        self.broker = BrokerUrl.parse(f"{url}{sep}protocol={protocol}")
        self.client = make_client(self.broker, client_id)
        self.connack: int | None = None
        self.connected = threading.Event()
        self.acks: dict[int, int] = {}
        self.acked = threading.Condition()
        self.messages: list[tuple[str, bytes]] = []
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_ack
        self.client.on_message = self._on_message

    def _on_connect(
        self, _c: mqtt.Client, _u: object, _f: object, rc: ReasonCode, _p: object = None
    ) -> None:
        self.connack = rc.value
        self.connected.set()

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, rc: ReasonCode, _p: object = None
    ) -> None:
        with self.acked:
            self.acks[mid] = rc.value
            self.acked.notify_all()

    def _on_ack(
        self, _c: mqtt.Client, _u: object, mid: int, rcs: list[ReasonCode], _p: Properties
    ) -> None:
        with self.acked:
            self.acks[mid] = rcs[0].value
            self.acked.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        self.messages.append((message.topic, bytes(message.payload)))

    def connect(self, timeout: float = 5.0) -> int | None:
        """The CONNACK reason code; None when TLS or the broker gave none."""
        try:
            self.client.connect(self.broker.host, self.broker.port)
        except (ssl.SSLError, OSError):
            return None
        self.client.loop_start()
        self.connected.wait(timeout)
        return self.connack

    def _wait_ack(self, mid: int) -> int:
        with self.acked:
            assert self.acked.wait_for(lambda: mid in self.acks, 5), "no answer from the broker"
            return self.acks[mid]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """The PUBACK reason code: 0 delivered to the broker, 0x87 not authorised."""
        return self._wait_ack(self.client.publish(topic, payload, qos=1, retain=retain).mid)

    def subscribe(self, topic_filter: str) -> int:
        _, mid = self.client.subscribe(topic_filter, qos=1)
        assert mid is not None
        return self._wait_ack(mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


class Plant:
    """The files `floorsync security init` wrote and a Mosquitto run on them."""

    def __init__(self, out: Path, port: int) -> None:
        self.out, self.port = out, port
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, login: str) -> str:
        snippet = self.out / "clients" / login.replace("/", ".") / "mqtt.toml"
        return str(tomllib.loads(snippet.read_text())["mqtt"]["url"])

    def start(self, binary: str) -> None:
        conf = self.out / "broker" / "mosquitto.conf"
        if os.geteuid() == 0:
            # as root Mosquitto switches to the mosquitto user, who cannot read root's 0600 files
            conf.write_text(conf.read_text() + "user root\n")
        with (self.out / "mosquitto.log").open("ab") as log:
            self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


# MQTT 3.1.1 CONNECT, clean session, keep-alive 60 s, client id "x", no login
CONNECT = b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01x"


def refused_at_tls(port: int, ca: Path, cert: Path | None = None, key: Path | None = None) -> bool:
    """True when the broker ends the TLS session instead of answering a CONNECT."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert and key:
        context.load_cert_chain(cert, key)
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(CONNECT)
            return tls.recv(4) == b""  # an answer would be a CONNACK
    except (ssl.SSLError, ConnectionResetError):
        return True


def security_init(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floorsync", "security", "init", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def start_plant(tmp_path: Path, binary: str, *extra: str) -> Plant:
    edge_config = tmp_path / "edge1.toml"
    edge_config.write_text(
        '[node]\nsite = "plant1"\narea = "assembly"\nline = "line1"\nname = "edge1"\n'
    )
    port = free_port()
    result = security_init(
        tmp_path / "plant", "--edges", str(edge_config), EDGE2, "--port", str(port), *extra
    )
    assert result.returncode == 0, result.stderr
    plant = Plant(tmp_path / "plant", port)
    passwords = [BrokerUrl.parse(plant.url(login)).password for login in (EDGE1, EDGE2, "central")]
    assert all(p and p not in result.stdout + result.stderr for p in passwords)
    plant.start(binary)
    return plant


@pytest.fixture
def plant(tmp_path: Path, mosquitto_binary: str) -> Iterator[Plant]:
    plant = start_plant(tmp_path, mosquitto_binary)
    yield plant
    plant.stop()


def test_init_keeps_secrets_to_their_owner_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "plant"
    assert security_init(out, "--edges", EDGE1, "--client-certs").returncode == 0
    secret = [
        out / "ca" / "ca.key",
        out / "broker" / "server.key",
        out / "broker" / "passwd",
        out / "clients" / "central" / "mqtt.toml",
        out / "clients" / "plant1.assembly.line1.edge1" / "client.key",
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in secret)
    conf = (out / "broker" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "require_certificate true" in conf
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    again = security_init(out, "--edges", EDGE2)
    assert again.returncode == 1 and "already holds files" in again.stderr
    bad = security_init(tmp_path / "other", "--edges", "plant1/assembly/line#/edge1")
    assert bad.returncode == 1 and "not a valid topic segment" in bad.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not (tmp_path / "other").exists()


def test_tls_with_the_plants_ca_only_and_the_right_password(
    plant: Plant, clients: list[Client]
) -> None:
    good = Client(plant.url(EDGE1), "edge1")
    clients.append(good)
    assert good.connect() == 0

    plain = Client(plant.url(EDGE1).replace("mqtts://", "mqtt://").split("?")[0], "plain")
    clients.append(plain)
    assert plain.connect(timeout=2) != 0, "plain TCP must not get in"

    # a client that trusts another CA refuses the broker's certificate
    other_ca = ssl.create_default_context(cadata=make_ca("Another plant").cert.decode())
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection(("127.0.0.1", plant.port), timeout=5) as raw,
    ):
        other_ca.wrap_socket(raw, server_hostname="localhost").close()

    password = BrokerUrl.parse(plant.url(EDGE1)).password
    assert password
    wrong = Client(plant.url(EDGE1).replace(password, "not-the-password"), "wrong")
    clients.append(wrong)
    assert (wrong.connect() or 0) >= 0x80
    anonymous = Client(f"mqtts://127.0.0.1:{plant.port}?ca={plant.out / 'ca' / 'ca.crt'}", "anon")
    clients.append(anonymous)
    assert (anonymous.connect() or 0) >= 0x80


def test_an_edge_publishes_and_reads_only_its_own_subtree(
    plant: Plant, clients: list[Client]
) -> None:
    central, edge1, edge2 = (
        Client(plant.url(login), name)
        for login, name in ((("central", "central"), (EDGE1, "edge1"), (EDGE2, "edge2")))
    )
    clients += [central, edge1, edge2]
    assert [c.connect() for c in (central, edge1, edge2)] == [0, 0, 0]
    # several central workers share the ingest: the ACL allows the shared subscription
    assert central.subscribe(f"$share/central/{ROOT}/+/+/+/+/events") == 1
    assert central.subscribe(f"{ROOT}/+/+/+/+/status") == 1
    assert edge1.subscribe(f"{ROOT}/{EDGE1}/cmd/+") == 1
    assert edge1.subscribe(f"{ROOT}/{EDGE2}/cmd/+") in (1, NOT_AUTHORIZED)  # Mosquitto grants it
    assert edge2.subscribe(f"{ROOT}/{EDGE2}/cmd/+") == 1

    assert edge1.publish(f"{ROOT}/{EDGE1}/events", b"own") in ACCEPTED
    assert edge2.publish(f"{ROOT}/{EDGE2}/events", b"own") in ACCEPTED
    assert edge1.publish(f"{ROOT}/{EDGE2}/events", b"forged") == NOT_AUTHORIZED
    assert edge1.publish(f"{ROOT}/{EDGE2}/status", b"forged") == NOT_AUTHORIZED
    assert edge1.publish(f"{ROOT}/{EDGE1}/ack", b"self-ack") == NOT_AUTHORIZED
    assert central.publish(f"{ROOT}/{EDGE2}/cmd/dispatch_list", b"for edge2", retain=True) == 0

    wait_for("edge2's command", lambda: bool(edge2.messages))
    wait_for("both edges' events at central", lambda: len(central.messages) >= 2)
    # edge1 subscribed to edge2's commands but the broker delivers it none of them
    assert [t for t, _ in edge1.messages] == []
    assert sorted(central.messages) == [
        (f"{ROOT}/{EDGE1}/events", b"own"),
        (f"{ROOT}/{EDGE2}/events", b"own"),
    ]


def test_client_certificates_are_the_login(
    tmp_path: Path, mosquitto_binary: str, clients: list[Client]
) -> None:
    plant = start_plant(tmp_path, mosquitto_binary, "--client-certs")
    try:
        edge1 = Client(plant.url(EDGE1), "edge1")
        clients.append(edge1)
        assert edge1.connect() == 0
        assert edge1.publish(f"{ROOT}/{EDGE1}/events", b"own") in ACCEPTED
        assert edge1.publish(f"{ROOT}/{EDGE2}/events", b"forged") == NOT_AUTHORIZED

        # no certificate, or one of another CA with the edge's name, does not get in
        ca = plant.out / "ca" / "ca.crt"
        assert refused_at_tls(plant.port, ca)
        pair = issue(make_ca("Another plant"), EDGE1, client=True)
        (tmp_path / "s.crt").write_bytes(pair.cert)
        (tmp_path / "s.key").write_bytes(pair.key)
        assert refused_at_tls(plant.port, ca, tmp_path / "s.crt", tmp_path / "s.key")
        edge1_cert = plant.out / "clients" / "plant1.assembly.line1.edge1"
        assert not refused_at_tls(
            plant.port, ca, edge1_cert / "client.crt", edge1_cert / "client.key"
        )
    finally:
        plant.stop()


def test_edge_and_central_sync_over_tls_and_acl(plant: Plant, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    edge_config = tmp_path / "edge.toml"
    edge_config.write_text(
        (tmp_path / "edge1.toml").read_text()
        + f'data_dir = "{tmp_path / "edge"}"\n'
        + (plant.out / "clients" / "plant1.assembly.line1.edge1" / "mqtt.toml").read_text()
        + '[[stations]]\nname = "ST-10"\n'
        + EDGE_API_TOKENS_TOML
    )
    central_port, edge_port = free_port(), free_port()
    central = Proc(
        "central",
        [
            "central",
            "--config",
            str(plant.out / "clients" / "central" / "mqtt.toml"),
            "--database",
            f"sqlite:///{tmp_path / 'central.db'}",
            "--http-port",
            str(central_port),
        ],
        central_port,
        logs,
    )
    edge = Proc(
        "edge",
        ["edge", "--config", str(edge_config), "--http-port", str(edge_port)],
        edge_port,
        logs,
    )
    try:
        central.start()
        edge.start()
        body = {
            "kind": "production_report",
            "station": "ST-10",
            "payload": {
                "work_order": "WO-2026-000123",
                "operation": "10",
                "good": 3,
                "scrap": 0,
                "period_start": "2026-11-22T06:00:00+00:00",
                "period_end": "2026-11-22T06:01:00+00:00",
            },
        }
        posted = httpx.post(f"{edge.url}/api/v1/events", json=body, headers=EDGE_AUTH, timeout=5)
        assert posted.status_code == 201

        def applied() -> int:
            edges = httpx.get(f"{central.url}/api/v1/edges", timeout=2).json()
            return next((e["applied_seq"] for e in edges if e["edge_id"] == EDGE1), 0)

        wait_for("the event at central, acknowledged back", lambda: applied() >= 1, 30)
        wait_for(
            "the edge's outbox drained by central's ack",
            lambda: (
                httpx.get(f"{edge.url}/api/v1/status", headers=EDGE_AUTH, timeout=2).json()[
                    "outbox"
                ]["depth"]
                == 0
            ),
            30,
        )
        password = BrokerUrl.parse(plant.url(EDGE1)).password
        assert password and password not in edge.log.read_text() + central.log.read_text()
    finally:
        edge.stop()
        central.stop()


def test_the_demo_broker_takes_only_its_logins(clients: list[Client]) -> None:
    layout = TopicLayout()
    edge1 = edge_identity(EdgeAddress(*EDGE1.split("/")), layout)
    edge2 = edge_identity(EdgeAddress(*EDGE2.split("/")), layout)
    logins = [
        (edge1, "pw-edge1"),
        (edge2, "pw-edge2"),
        (central_identity("central", [layout]), "pw-c"),
    ]
    broker = EmbeddedBroker(logins, port=free_port())
    broker.start()
    try:

        def client(login: str | None, password: str, name: str) -> Client:
            url = broker_url(broker.host, broker.port, login, password) if login else broker.url
            made = Client(url, name, protocol=4)  # amqtt speaks MQTT 3.1.1
            clients.append(made)
            return made

        assert client(None, "", "anonymous").connect() == NOT_AUTHORIZED
        assert client(EDGE1, "pw-edge2", "wrong").connect() == NOT_AUTHORIZED
        # a will is a publish too: one on another edge's ack (a forged ack) is refused
        forger = client(EDGE1, "pw-edge1", "forger")
        forger.client.will_set(f"{ROOT}/{EDGE2}/ack", b'{"acked_seq": 999}', qos=1)
        assert forger.connect() == NOT_AUTHORIZED
        central, edge1_client = (
            client("central", "pw-c", "central"),
            client(EDGE1, "pw-edge1", "e1"),
        )
        assert central.connect() == 0 and edge1_client.connect() == 0
        assert central.subscribe(f"{ROOT}/+/+/+/+/events") == 1
        assert edge1_client.subscribe(f"{ROOT}/{EDGE2}/cmd/+") == 0x80
        assert edge1_client.subscribe(f"{ROOT}/#") == 0x80
        edge1_client.publish(f"{ROOT}/{EDGE2}/events", b"forged")
        edge1_client.publish(f"{ROOT}/{EDGE1}/events", b"own")
        wait_for("edge1's own events at central", lambda: bool(central.messages), 10)
        assert central.messages == [(f"{ROOT}/{EDGE1}/events", b"own")]
    finally:
        broker.stop()
