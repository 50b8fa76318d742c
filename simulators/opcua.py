"""A simulated machine behind a real asyncua OPC UA server on a local port.

Objects/Machine<N> holds State (running / idle / setup / down), GoodCount and ScrapCount
(UInt32), CycleTime (Double, s) and Alarm (empty when none); node ids are
``ns=2;s=Machine<N>.<Variable>``. The counters live in this object, not in the server, so
``restart()`` behaves like a restarting OPC UA server in front of a PLC that keeps
counting. Optional ``signals`` add Double variables under Machine<N>/Signals that all
take the value of a tick number ``signal_hz`` times a second: load for the benchmark,
and every change identifiable by its value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from asyncua import Node, Server, ua
from asyncua.common.ua_utils import value_to_datavalue
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

__all__ = ["MachineState", "OpcUaMachine", "free_port", "make_certificate"]

log = logging.getLogger(__name__)

MachineState = Literal["running", "idle", "setup", "down"]
STATES: tuple[MachineState, ...] = ("running", "idle", "setup", "down")
NAMESPACE = "urn:floorsync:sim:machine"
_TICK_S = 0.05  # counter resolution: pieces appear at most this late


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def make_certificate(
    directory: Path, name: str, application_uri: str, *, server: bool
) -> tuple[Path, Path]:
    """A self-signed application certificate (DER) and key (PEM) for tests and demos."""
    cert, key = directory / f"{name}-cert.der", directory / f"{name}-key.pem"
    use = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    await cert_gen.setup_self_signed_certificate(
        key, cert, application_uri, socket.gethostname(), [use], {"organizationName": "FloorSync"}
    )
    return cert, key


def _policy_types(
    policy: str, mode: Literal["Sign", "SignAndEncrypt"] | None
) -> list[ua.SecurityPolicyType]:
    """``Aes128_Sha256_RsaOaep`` in ``Sign`` mode is SecurityPolicyType.Aes128Sha256RsaOaep_Sign."""
    modes = [mode] if mode else ["Sign", "SignAndEncrypt"]
    name = policy.replace("_", "")
    try:
        return [ua.SecurityPolicyType[f"{name}_{m}"] for m in modes]
    except KeyError:
        raise ValueError(f"unknown OPC UA security policy {policy!r}") from None


class _Passwords(UserManager):
    """Lets in exactly the configured user names with their passwords."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


class OpcUaMachine:
    """One machine's OPC UA server; counters advance at ``rate`` pieces/s while running."""

    def __init__(
        self,
        number: int = 1,
        *,
        port: int | None = None,
        rate: float = 1.0,
        scrap_share: float = 0.0,
        state: MachineState = "running",
        signals: int = 0,
        signal_hz: float = 1.0,
        certificate: Path | None = None,
        private_key: Path | None = None,
        users: Mapping[str, str] | None = None,
        security_policy: str = "Basic256Sha256",
        security_mode: Literal["Sign", "SignAndEncrypt"] | None = None,
    ) -> None:
        self.number = number
        self.port = port or free_port()
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/floorsync/"
        self.rate, self.scrap_share = rate, scrap_share
        self.state: MachineState = state
        self.alarm = ""
        self.good = self.scrap = 0
        self.signals, self.signal_hz, self.signal_tick = signals, signal_hz, 0
        self.changes = 0  # data changes written to the server since creation
        self.certificate, self.private_key = certificate, private_key
        self.users = users
        # with a certificate, the one policy the server requires; in one mode or in both
        self.security_policy, self.security_mode = security_policy, security_mode
        _policy_types(security_policy, security_mode)  # an unknown one fails here, not at start
        self.application_uri = f"urn:floorsync:sim:machine{number}"
        self._server: Server | None = None
        self._nodes: dict[str, Node] = {}
        self._signal_ids: list[ua.NodeId] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._made = 0.0  # pieces including the fraction of the one in progress

    @property
    def name(self) -> str:
        return f"Machine{self.number}"

    def node_id(self, variable: str) -> str:
        """The node id string of one of this machine's variables, e.g. ``GoodCount``."""
        return f"ns=2;s={self.name}.{variable}"

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Serve on ``endpoint``; counters go on from where they were."""
        if self._server is not None:
            return
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"FloorSync simulated {self.name}")
        await server.set_application_uri(self.application_uri)
        # with a certificate the server requires security, with users it requires a login
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        if self.certificate is not None and self.private_key is not None:
            await server.load_certificate(self.certificate)
            await server.load_private_key(self.private_key)
            server.set_security_policy(_policy_types(self.security_policy, self.security_mode))
        server.set_identity_tokens([ua.AnonymousIdentityToken])
        if self.users is not None:
            server.iserver.set_user_manager(_Passwords(self.users))
            server.set_identity_tokens([ua.UserNameIdentityToken])
        await self._build(server)
        await server.start()
        self._server = server
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._count())]
            if self.signals:
                self._tasks.append(asyncio.create_task(self._signal()))

    async def stop_signals(self) -> int:
        """Stop changing the signals; returns the last tick written."""
        for task in self._tasks[1:]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        del self._tasks[1:]
        return self.signal_tick

    async def stop(self) -> None:
        """Stop serving and counting."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._stop_server()

    async def restart(self, down_s: float = 0.0) -> None:
        """Stop and start the server on the same port; the machine keeps counting meanwhile."""
        await self._stop_server()
        await asyncio.sleep(down_s)
        await self.start()

    async def set_state(self, state: MachineState, alarm: str = "") -> None:
        """Change the machine state (counters only advance while running) and its alarm."""
        if state not in STATES:
            raise ValueError(f"machine state must be one of {', '.join(STATES)}, got {state!r}")
        self.state, self.alarm = state, alarm
        await self._write("State", state, ua.VariantType.String)
        await self._write("Alarm", alarm, ua.VariantType.String)
        await self._write("CycleTime", self._cycle_time(), ua.VariantType.Double)

    def drop_connections(self) -> None:
        """Close every client connection; the server keeps listening."""
        if self._server is not None:
            for transport in list(self._server.iserver.asyncio_transports):
                transport.close()

    async def forget_subscriptions(self) -> None:
        """Drop every subscription without telling the clients: a dead subscription on a live
        connection, which only a heartbeat notices (reads still work)."""
        if self._server is not None:
            service = self._server.iserver.subscription_service
            await service.delete_subscriptions(list(service.subscriptions))

    async def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def _build(self, server: Server) -> None:
        ns = await server.register_namespace(NAMESPACE)
        machine = await server.nodes.objects.add_object(
            ua.NodeId(ua.String(self.name), ua.Int16(ns)), f"{ns}:{self.name}"
        )
        initial: dict[str, tuple[Any, ua.VariantType]] = {
            "State": (self.state, ua.VariantType.String),
            "GoodCount": (self.good, ua.VariantType.UInt32),
            "ScrapCount": (self.scrap, ua.VariantType.UInt32),
            "CycleTime": (self._cycle_time(), ua.VariantType.Double),
            "Alarm": (self.alarm, ua.VariantType.String),
        }
        self._nodes = {}
        for variable, (value, kind) in initial.items():
            node_id = ua.NodeId(ua.String(f"{self.name}.{variable}"), ua.Int16(ns))
            self._nodes[variable] = await machine.add_variable(
                node_id, f"{ns}:{variable}", ua.Variant(value, kind)
            )
        self._signal_ids = []
        if self.signals:
            folder = await machine.add_folder(
                ua.NodeId(ua.String(f"{self.name}.Signals"), ua.Int16(ns)), f"{ns}:Signals"
            )
            for i in range(self.signals):
                node_id = ua.NodeId(ua.String(f"{self.name}.Signals.S{i:03d}"), ua.Int16(ns))
                value = ua.Variant(float(self.signal_tick), ua.VariantType.Double)
                await folder.add_variable(node_id, f"{ns}:S{i:03d}", value)
                self._signal_ids.append(node_id)

    def _cycle_time(self) -> float:
        return 1.0 / self.rate if self.state == "running" and self.rate > 0 else 0.0

    async def _write(self, variable: str, value: Any, kind: ua.VariantType) -> None:
        node = self._nodes.get(variable)
        if self._server is None or node is None:
            return  # written when the server starts again
        data = value_to_datavalue(ua.Variant(value, kind))  # stamped with the source time now
        await self._server.write_attribute_value(node.nodeid, data)
        self.changes += 1

    async def _count(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(_TICK_S)
            now = loop.time()
            if self.state == "running":
                self._made += self.rate * (now - last)
            last = now
            made = int(self._made)
            while self.good + self.scrap < made:
                piece = self.good + self.scrap + 1
                # every 1/scrap_share-th piece is scrap, spread evenly and deterministically
                if int(piece * self.scrap_share) > int((piece - 1) * self.scrap_share):
                    self.scrap += 1
                    await self._write("ScrapCount", self.scrap % 2**32, ua.VariantType.UInt32)
                else:
                    self.good += 1
                    await self._write("GoodCount", self.good % 2**32, ua.VariantType.UInt32)

    async def _signal(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.signal_hz
        next_at = loop.time()
        while True:
            next_at += period
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            # a late tick is skipped, not bunched: the rate produced is what is reported
            next_at = max(next_at, loop.time() - period)
            if self._server is None:
                continue
            self.signal_tick += 1
            data = value_to_datavalue(ua.Variant(float(self.signal_tick), ua.VariantType.Double))
            for node_id in self._signal_ids:
                await self._server.write_attribute_value(node_id, data)
            self.changes += len(self._signal_ids)
