"""OPC UA coordinator: data-change subscriptions as the normal path, polling as the fallback.

Each data change becomes a ``Reading`` with the server's SourceTimestamp and a quality
from its status code. The server's clock (Server_ServerStatus_CurrentTime, which servers
update once a second) is monitored in the same subscription as a heartbeat: when it stops
arriving the subscription is dead even if the socket still looks open, so the session is
closed and rebuilt with back-off. Every (re)connect reads all tags once before
subscribing, so a counter that moved while the edge was away is delivered, and the
subscription's first notifications can only be as new as that read or newer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from asyncua import Client, Node, ua
from asyncua.common import subscription as uasub
from asyncua.crypto.security_policies import (
    SecurityPolicy,
    SecurityPolicyAes128Sha256RsaOaep,
    SecurityPolicyAes256Sha256RsaPss,
    SecurityPolicyBasic256Sha256,
)

from edge.devices.base import Coordinator, DeviceError, Quality, Reading, Sink, Value, now_utc

__all__ = [
    "POLICIES",
    "OpcUaCoordinator",
    "OpcUaSecurity",
    "OpcUaTag",
    "SecurityPolicyName",
    "plain_value",
    "quality_of",
]

# The policies OPC UA still recommends; Basic128Rsa15 and Basic256 (SHA-1) are deprecated.
SecurityPolicyName = Literal["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]
POLICIES: dict[str, type[SecurityPolicy]] = {
    "Basic256Sha256": SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": SecurityPolicyAes256Sha256RsaPss,
}

CLOCK = ua.NodeId.from_string(f"i={ua.ObjectIds.Server_ServerStatus_CurrentTime}")
_ROOT = ua.NodeId.from_string(f"i={ua.ObjectIds.RootFolder}")
_HIERARCHICAL = ua.NodeId.from_string(f"i={ua.ObjectIds.HierarchicalReferences}")
# asyncua annotates fields with nominal wrappers (ua.Boolean) that plain values never are
_FORWARD: ua.Boolean = cast(Any, False)
_NODE_ID = re.compile(r"^(ns=\d+;|nsu=[^;]+;)?[isgb]=.+$")
_SEGMENT = re.compile(r"^(\d+):([^/]+)$")
_UNKNOWN_NODE = {ua.StatusCodes.BadNodeIdUnknown, ua.StatusCodes.BadNodeIdInvalid}
_LOGIN_REFUSED = {
    ua.StatusCodes.BadUserAccessDenied,
    ua.StatusCodes.BadIdentityTokenInvalid,
    ua.StatusCodes.BadIdentityTokenRejected,
}
_ERRORS = (ua.UaError, OSError, TimeoutError)


@dataclass(frozen=True)
class OpcUaTag:
    """A tag: its name at the edge and its node id or browse path (from Root) on the server."""

    name: str
    address: str  # "ns=2;s=Machine1.GoodCount" or "0:Objects/2:Machine1/2:GoodCount"

    def __post_init__(self) -> None:
        try:
            ok = self.node_id is not None or all(map(_SEGMENT.match, self.address.split("/")))
        except ua.UaError:
            ok = False
        if not ok:
            raise ValueError(
                f"tag {self.name!r}: {self.address!r} is neither a node id like"
                " 'ns=2;s=Machine1.GoodCount' nor a browse path like '0:Objects/2:Machine1'"
            )

    @property
    def node_id(self) -> ua.NodeId | None:
        """The node id, or None when the address is a browse path."""
        return ua.NodeId.from_string(self.address) if _NODE_ID.match(self.address) else None

    def browse_path(self) -> ua.RelativePath:
        """The address as a relative path from Root, built element by element (no escaping)."""
        elements = []
        for part in self.address.split("/"):
            ns, name = part.split(":", 1)
            elements.append(
                ua.RelativePathElement(
                    ReferenceTypeId=_HIERARCHICAL,
                    IsInverse=_FORWARD,
                    TargetName=ua.QualifiedName(name, int(ns)),
                )
            )
        return ua.RelativePath(Elements=elements)


@dataclass(frozen=True)
class OpcUaSecurity:
    """A secure channel (``policy``, ``mode``) with the edge's application certificate and key."""

    certificate: Path
    private_key: Path
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    server_certificate: Path | None = None  # pins the server; else taken from its endpoints
    application_uri: str = "urn:floorsync:edge"  # must be the URI in the certificate
    policy: SecurityPolicyName = "Basic256Sha256"


def quality_of(status: ua.StatusCode | None) -> Quality:
    """Quality from an OPC UA status code's severity bits."""
    if status is None or status.is_good():
        return "good"
    return "uncertain" if status.is_uncertain() else "bad"


def plain_value(value: Any) -> Value | None:
    """A value the rest of the edge understands; anything exotic becomes its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, ua.LocalizedText):
        return value.Text
    return str(value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ua.UaStatusCodeError):
        return f"{ua.StatusCode(exc.code).name}: {exc}"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


@dataclass
class OpcUaCoordinator(Coordinator):
    """One OPC UA server; ``run`` subscribes (``mode="subscribe"``) or polls (``"poll"``)."""

    endpoint: str = ""
    tags: tuple[OpcUaTag, ...] = ()
    mode: Literal["subscribe", "poll"] = "subscribe"
    publishing_interval_s: float = 0.5
    sampling_interval_s: float = 0.1
    queue_size: int = 0  # per monitored item; 0 lets the server choose
    heartbeat_timeout_s: float | None = None  # default: max(3 s, 3 publishing intervals)
    connect_timeout_s: float = 10.0
    session_timeout_s: float = 60.0  # how long the server keeps an orphaned session
    max_queued: int = 100_000  # notifications buffered between publish and sink
    security: OpcUaSecurity | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    _client: Client | None = field(default=None, init=False, repr=False)
    _nodes: list[tuple[str, Node]] = field(default_factory=list, init=False, repr=False)
    _names: dict[ua.NodeId, str] = field(default_factory=dict, init=False, repr=False)
    _pending: list[Reading] = field(default_factory=list, init=False, repr=False)
    _heartbeat_at: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.endpoint.startswith("opc.tcp://"):
            raise ValueError(
                f"{self.name}: endpoint must be opc.tcp://host:port/..., got {self.endpoint!r}"
            )
        names = [tag.name for tag in self.tags]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"{self.name}: needs at least one tag and unique tag names")
        if self.mode not in ("subscribe", "poll"):
            raise ValueError(f"{self.name}: mode must be 'subscribe' or 'poll', got {self.mode!r}")
        if min(self.publishing_interval_s, self.sampling_interval_s, self.heartbeat_s) <= 0:
            raise ValueError(f"{self.name}: intervals and timeouts must be positive")

    @property
    def heartbeat_s(self) -> float:
        """How long without a clock tick before the subscription counts as dead."""
        if self.heartbeat_timeout_s is not None:
            return self.heartbeat_timeout_s
        # the clock ticks once a second: two missed ticks, or three publishes if slower
        return max(3.0, 3 * self.publishing_interval_s)

    async def connect(self) -> None:
        """Open a session (with security and login if configured) and resolve every tag."""
        # the client's own watchdog probes with this budget; our heartbeat decides first
        client = Client(self.endpoint, timeout=self.timeout_s, watchdog_intervall=self.heartbeat_s)
        client.session_timeout = int(self.session_timeout_s * 1000)
        try:
            await asyncio.wait_for(self._open(client), self.connect_timeout_s)
        except BaseException as exc:
            await self._teardown(client)
            if isinstance(exc, ua.UaStatusCodeError) and exc.code in _LOGIN_REFUSED:
                who = "an anonymous login" if self.username is None else f"user {self.username!r}"
                raise DeviceError(
                    f"{self.endpoint} refused {who} ({ua.StatusCode(exc.code).name}):"
                    " check user name and password"
                ) from exc
            if isinstance(exc, _ERRORS):
                hint = ""
                if "No matching endpoints" in str(exc):  # asyncua's words, no status code
                    hint = " (the server requires another security policy or mode)"
                raise DeviceError(
                    f"cannot connect to {self.endpoint}: {_describe(exc)}{hint}"
                ) from exc
            raise
        self._client = client

    async def _open(self, client: Client) -> None:
        if self.security is not None:
            client.application_uri = self.security.application_uri
            pinned = self.security.server_certificate
            await client.set_security(
                POLICIES[self.security.policy],
                str(self.security.certificate),
                str(self.security.private_key),
                server_certificate=str(pinned) if pinned else None,
                mode=getattr(ua.MessageSecurityMode, self.security.mode),
            )
        if self.username is not None:
            client.set_user(self.username)
        if self.password is not None:
            client.set_password(self.password)
        await client.connect()
        self._nodes = await self._resolve(client)
        self._names = {node.nodeid: name for name, node in self._nodes}

    async def _resolve(self, client: Client) -> list[tuple[str, Node]]:
        paths = [tag for tag in self.tags if tag.node_id is None]
        found: dict[str, ua.NodeId] = {}
        if paths:
            results = await client.translate_browsepaths(_ROOT, [t.browse_path() for t in paths])
            for tag, result in zip(paths, results, strict=True):
                if not result.StatusCode.is_good() or not result.Targets:
                    raise DeviceError(
                        f"tag {tag.name!r}: browse path {tag.address!r} not found on"
                        f" {self.endpoint} ({result.StatusCode.name})"
                    )
                target = result.Targets[0].TargetId
                found[tag.name] = ua.NodeId(
                    target.Identifier, target.NamespaceIndex, target.NodeIdType
                )
        return [(tag.name, client.get_node(tag.node_id or found[tag.name])) for tag in self.tags]

    async def poll(self) -> list[Reading]:
        """Read every tag once, in one request."""
        client = self._require_client()
        try:
            values = await client.read_attributes([node for _, node in self._nodes])
        except _ERRORS as exc:
            raise DeviceError(f"read from {self.endpoint} failed: {_describe(exc)}") from exc
        readings = []
        for (name, node), data in zip(self._nodes, values, strict=True):
            if data.StatusCode is not None and data.StatusCode.value in _UNKNOWN_NODE:
                raise DeviceError(
                    f"tag {name!r}: node {node.nodeid.to_string()} does not exist on"
                    f" {self.endpoint} ({data.StatusCode.name})"
                )
            readings.append(self._reading(name, data))
        return readings

    async def close(self) -> None:
        """Close the session; safe to call on a broken or closed connection."""
        client, self._client = self._client, None
        if client is not None:
            await self._teardown(client)

    async def run(self, sink: Sink) -> None:
        """Stream subscription data until cancelled; rebuild the session with back-off."""
        if self.mode == "poll":
            await super().run(sink)
            return
        delay = self.backoff_initial_s
        try:
            while True:
                self._heartbeat_at = 0.0
                try:
                    await self.connect()
                    await self._stream(sink)
                except DeviceError as exc:
                    self._failed(str(exc))
                await self._close_quietly()
                if self._heartbeat_at:  # the session worked: start the back-off afresh
                    delay = self.backoff_initial_s
                await asyncio.sleep(delay)
                delay = min(self.backoff_max_s, delay * 2)
        finally:
            await self._close_quietly()

    async def _stream(self, sink: Sink) -> None:
        sink(await self.poll())
        self._recovered()
        client = self._require_client()
        try:
            subscription = await client.create_subscription(
                self.publishing_interval_s * 1000,
                queue_maxsize=self.max_queued,
                # a consumer that falls this far behind resyncs through a new session
                overflow=uasub.OverflowPolicy.DISCONNECT,
            )
            nodes = [node for _, node in self._nodes]
            if CLOCK not in self._names:
                nodes.append(client.get_node(CLOCK))
            results = await subscription.subscribe_data_change(
                nodes,
                queuesize=self.queue_size,
                sampling_interval=ua.Double(self.sampling_interval_s * 1000),
            )
        except _ERRORS as exc:
            raise DeviceError(f"cannot subscribe on {self.endpoint}: {_describe(exc)}") from exc
        for node, result in zip(nodes, results, strict=True):
            if isinstance(result, ua.StatusCode):
                what = self._names.get(node.nodeid, "server clock")
                raise DeviceError(f"cannot monitor {what!r} on {self.endpoint}: {result.name}")
        await self._pump(subscription, sink)

    async def _pump(self, subscription: uasub.Subscription, sink: Sink) -> None:
        loop = asyncio.get_running_loop()
        wakeup = asyncio.Event()
        self._pending = []
        self._heartbeat_at = seen = loop.time()
        consumer = asyncio.create_task(self._consume(subscription, wakeup))
        consumer.add_done_callback(lambda _: wakeup.set())
        try:
            while not consumer.done():
                remaining = self._heartbeat_at + self.heartbeat_s - loop.time()
                if remaining <= 0:
                    raise DeviceError(
                        f"no heartbeat from the clock of {self.endpoint} for"
                        f" {self.heartbeat_s:.1f} s: subscription is dead"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), remaining)
                wakeup.clear()
                batch, self._pending = self._pending, []
                if batch:
                    sink(batch)
                if batch or self._heartbeat_at > seen:
                    seen = self._heartbeat_at
                    self._recovered()
            consumer.result()
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer

    async def _consume(self, subscription: uasub.Subscription, wakeup: asyncio.Event) -> None:
        # Queue.get does not yield while items wait, so a whole publish is drained at once
        # and the pump hands it to the sink as one batch.
        loop = asyncio.get_running_loop()
        async for event in subscription:
            if isinstance(event, uasub.DataChangeEvent):
                nodeid = event.node.nodeid
                if nodeid == CLOCK:
                    self._heartbeat_at = loop.time()
                name = self._names.get(nodeid)
                if name is not None:
                    self._pending.append(self._reading(name, event.data.monitored_item.Value))
                wakeup.set()
            elif isinstance(event, uasub.StatusChangeEvent) and event.notification.Status.is_bad():
                status = event.notification.Status.name
                raise DeviceError(f"subscription on {self.endpoint} lost ({status})")
        raise DeviceError(f"subscription on {self.endpoint} closed")

    def _reading(self, name: str, data: ua.DataValue) -> Reading:
        value = plain_value(data.Value.Value if data.Value is not None else None)
        ts = data.SourceTimestamp or data.ServerTimestamp or now_utc()
        ts = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
        return Reading(self.name, name, value, quality_of(data.StatusCode), ts)

    def _require_client(self) -> Client:
        if self._client is None:
            raise DeviceError(f"not connected to {self.endpoint}")
        return self._client

    async def _teardown(self, client: Client) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), self.timeout_s)
        except Exception:  # a broken connection may fail to close; drop the socket anyway
            client.disconnect_socket()
