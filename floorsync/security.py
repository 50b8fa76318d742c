"""``floorsync security init``: MQTT logins, a test CA and a Mosquitto configuration for a plant.

Each edge logs in as its edge id (``site/area/line/edge``) and may publish only its
own ``events`` and ``status`` and read only its own ``ack`` and ``cmd/+``; each
central worker reads every edge's events and status and publishes acks and commands.
The same rules feed Mosquitto's ACL file and the demo's embedded broker.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from floorsync.certs import KeyPair, issue, make_ca
from protocols.contract import Channel, ContractError, EdgeAddress, TopicLayout

__all__ = [
    "Identity",
    "SecurityError",
    "broker_url",
    "central_identity",
    "edge_identity",
    "init",
    "mosquitto_acl",
    "mosquitto_hash",
    "new_password",
]

SECRET = 0o600
MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's own; the passwords are random, not guessable


class SecurityError(Exception):
    """Input ``security init`` cannot use; the message says what to fix."""


@dataclass(frozen=True)
class Identity:
    """One MQTT login and the topics it may use."""

    username: str
    kind: str  # "edge" or "central"
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    @property
    def slug(self) -> str:
        """A file name for the identity (edge ids have slashes)."""
        return self.username.replace("/", ".")


def edge_identity(address: EdgeAddress, layout: TopicLayout) -> Identity:
    """An edge: its own events and status out, its own acks and commands in."""
    return Identity(
        username=address.path,
        kind="edge",
        publish=(layout.events(address), layout.status(address)),
        subscribe=(layout.ack(address), layout.commands_filter(address)),
    )


def central_identity(name: str, layouts: Iterable[TopicLayout]) -> Identity:
    """A central worker: every edge's events and status in, acks and commands out."""
    publish: list[str] = []
    subscribe: list[str] = []
    for layout in dict.fromkeys(layouts):
        publish += [layout.all_edges(Channel.ACK), f"{layout.all_edges(Channel.CMD)}/+"]
        subscribe += [layout.all_edges(Channel.EVENTS), layout.all_edges(Channel.STATUS)]
    return Identity(name, "central", tuple(publish), tuple(subscribe))


def new_password() -> str:
    return secrets.token_urlsafe(24)


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """Mosquitto 2's ``$7$`` password hash (PBKDF2-SHA512), as mosquitto_passwd writes it."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    encode = base64.b64encode
    return f"$7${MOSQUITTO_ITERATIONS}${encode(salt).decode()}${encode(digest).decode()}"


def mosquitto_acl(identities: Iterable[Identity]) -> str:
    """Mosquitto's acl_file: what is not granted here is denied."""
    lines = [
        "# Made by `floorsync security init`. Each login may use only the topics below;",
        "# Mosquitto denies everything else (an edge's publish elsewhere is dropped).",
    ]
    for identity in identities:
        lines += ["", f"# {identity.kind}", f"user {identity.username}"]
        lines += [f"topic write {topic}" for topic in identity.publish]
        lines += [f"topic read {topic}" for topic in identity.subscribe]
    return "\n".join(lines) + "\n"


def broker_url(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
) -> str:
    """A URL ``protocols.mqtt.BrokerUrl`` parses: mqtts:// when there is a CA."""
    login = f"{quote(username, safe='')}:{quote(password, safe='')}@"
    if ca is None:
        return f"mqtt://{login}{host}:{port}"
    query = f"ca={quote(str(ca))}"
    if cert and key:
        query += f"&cert={quote(str(cert))}&key={quote(str(key))}"
    return f"mqtts://{login}{host}:{port}?{query}"


def mosquitto_conf(broker_dir: Path, port: int, *, client_certs: bool) -> str:
    lines = [
        "# Made by `floorsync security init`: TLS only, every client logs in, ACL per login.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {broker_dir / 'passwd'}",
        f"acl_file {broker_dir / 'acl'}",
        "",
        f"listener {port}",
        f"cafile {broker_dir / 'ca.crt'}",
        f"certfile {broker_dir / 'server.crt'}",
        f"keyfile {broker_dir / 'server.key'}",
        "tls_version tlsv1.2",
    ]
    if client_certs:
        lines += [
            "# a client certificate from the plant's CA is the login: its common name is the",
            "# username the ACL applies to (passwords are not checked on this listener)",
            "require_certificate true",
            "use_identity_as_username true",
        ]
    return "\n".join(lines) + "\n"


def _write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(raw)
    os.chmod(path, mode)  # the umask may have taken bits off


def resolve_edges(specs: list[str], topic_root: str) -> list[tuple[EdgeAddress, TopicLayout]]:
    """Each spec is an edge config file (its [node] and [mqtt] topic_root) or an edge id."""
    from edge.settings import EdgeSettings
    from floorsync.config import load

    edges: list[tuple[EdgeAddress, TopicLayout]] = []
    for spec in specs:
        try:
            if spec.endswith(".toml") or Path(spec).is_file():
                settings = load(EdgeSettings, Path(spec))
                node = settings.node
                address = EdgeAddress(node.site, node.area, node.line, node.name)
                root = settings.mqtt.topic_root
            else:
                parts = spec.split("/")
                if len(parts) != 4:
                    raise SecurityError(
                        f"{spec!r} is neither an edge config file (.toml) nor an edge id "
                        "site/area/line/edge"
                    )
                address, root = EdgeAddress(*parts), topic_root
        except ContractError as exc:
            raise SecurityError(f"{spec}: {exc}") from None
        if any(address == seen for seen, _ in edges):
            raise SecurityError(f"edge {address.path} is named twice")
        edges.append((address, TopicLayout(root=root)))
    return edges


def init(
    out: Path,
    edges: list[tuple[EdgeAddress, TopicLayout]],
    centrals: list[str],
    hostnames: list[str],
    port: int,
    *,
    client_certs: bool = False,
    broker_dir: Path | None = None,
    organisation: str = "FloorSync plant",
) -> None:
    """Write the plant's CA, broker files and one login per identity into ``out``."""
    if not edges:
        raise SecurityError("name at least one edge")
    if not 0 < port < 65536:
        raise SecurityError(f"--port {port} is not a TCP port (1-65535)")
    for name in centrals:
        if not name or any(c in name for c in ":/+#") or name.strip() != name:
            raise SecurityError(f"central login {name!r}: no ':', '/', '+', '#' or spaces")
    if len(set(centrals)) != len(centrals):
        raise SecurityError("a central login is named twice")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SecurityError(
            f"{out} already holds files; give a new directory (rotate one password as "
            "docs/security.md describes)"
        )
    out = out.resolve()
    if broker_dir is not None and not broker_dir.is_absolute():
        raise SecurityError(f"--broker-dir {broker_dir} must be an absolute path")
    broker_dir = broker_dir or out / "broker"
    hosts = list(dict.fromkeys([*hostnames, "localhost", "127.0.0.1"]))
    identities = [edge_identity(a, layout) for a, layout in edges]
    identities += [central_identity(n, [layout for _, layout in edges]) for n in centrals]

    ca = make_ca(organisation)
    _write(out / "ca" / "ca.crt", ca.cert)
    _write(out / "ca" / "ca.key", ca.key, SECRET)
    print(f"test CA             {out / 'ca' / 'ca.crt'} (keep ca/ca.key offline)")
    server = issue(ca, hosts[0], hostnames=tuple(hosts))
    _write(out / "broker" / "ca.crt", ca.cert)
    _write(out / "broker" / "server.crt", server.cert)
    _write(out / "broker" / "server.key", server.key, SECRET)
    print(f"broker certificate  {out / 'broker' / 'server.crt'} for {', '.join(hosts)}")

    passwords = {i.username: new_password() for i in identities}
    passwd = "".join(f"{u}:{mosquitto_hash(p)}\n" for u, p in passwords.items())
    _write(out / "broker" / "passwd", passwd, SECRET)
    _write(out / "broker" / "acl", mosquitto_acl(identities))
    _write(
        out / "broker" / "mosquitto.conf",
        mosquitto_conf(broker_dir, port, client_certs=client_certs),
    )
    print(
        f"broker config       {out / 'broker'}/mosquitto.conf, passwd, acl "
        f"({len(identities)} logins; files read from {broker_dir})"
    )

    for identity in identities:
        folder = out / "clients" / identity.slug
        keypair: KeyPair | None = None
        if client_certs:
            keypair = issue(ca, identity.username, client=True)
            _write(folder / "client.crt", keypair.cert)
            _write(folder / "client.key", keypair.key, SECRET)
        url = broker_url(
            hosts[0],
            port,
            identity.username,
            passwords[identity.username],
            ca=out / "ca" / "ca.crt",
            cert=folder / "client.crt" if keypair else None,
            key=folder / "client.key" if keypair else None,
        )
        _write(folder / "mqtt.toml", _snippet(identity, url), SECRET)
        print(f"{identity.kind + ' login':<19} {identity.username}: {folder / 'mqtt.toml'}")
    print(
        "passwords are only in the files above (mode 0600) and, hashed, in broker/passwd; "
        "see docs/security.md to deploy them"
    )


def _snippet(identity: Identity, url: str) -> str:
    lines = [
        f"# MQTT login of {identity.kind} {identity.username}, made by `floorsync security init`.",
        "# Keep this file secret. Copy the [mqtt] keys into its config file.",
        "[mqtt]",
        f'url = "{url}"',
    ]
    if identity.kind == "central":
        lines.append(f'client_id = "{identity.username}"')
    return "\n".join(lines) + "\n"
