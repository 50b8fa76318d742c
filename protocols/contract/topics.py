"""ISA-95 style topic layout: ``<root>/v1/<site>/<area>/<line>/<edge>/<channel>[/<name>]``.

One subtree per edge node, so a broker ACL can give each edge exactly its own
branch (publish ``events`` and ``status``, subscribe ``ack`` and ``cmd/#``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from protocols.contract.errors import ContractError

SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Channel(StrEnum):
    """What a message on an edge's subtree is."""

    EVENTS = "events"  # edge -> central, batches of event envelopes, QoS 1
    ACK = "ack"  # central -> edge, end-to-end acknowledgement, QoS 1
    STATUS = "status"  # edge -> all, birth / last-will death, retained
    CMD = "cmd"  # central -> edge, downlink commands, retained, cmd/<name>


@dataclass(frozen=True)
class EdgeAddress:
    """Where an edge node sits in the plant: site / area / line / edge."""

    site: str
    area: str
    line: str
    edge: str

    def __post_init__(self) -> None:
        for level in ("site", "area", "line", "edge"):
            value = getattr(self, level)
            if not SEGMENT.match(value):
                raise ContractError(
                    f"{level} {value!r} is not a valid topic segment "
                    "(letters, digits, '_', '.', '-'; up to 64 characters)"
                )

    @property
    def path(self) -> str:
        return f"{self.site}/{self.area}/{self.line}/{self.edge}"


@dataclass(frozen=True)
class TopicLayout:
    """Builds and parses topics under one root (default ``floorsync``)."""

    root: str = "floorsync"
    version: str = "v1"

    @property
    def prefix(self) -> str:
        return f"{self.root}/{self.version}"

    def topic(self, edge: EdgeAddress, channel: Channel, name: str | None = None) -> str:
        base = f"{self.prefix}/{edge.path}/{channel.value}"
        if channel is Channel.CMD:
            if not name or not SEGMENT.match(name):
                raise ContractError(f"command name {name!r} is not a valid topic segment")
            return f"{base}/{name}"
        return base

    def events(self, edge: EdgeAddress) -> str:
        return self.topic(edge, Channel.EVENTS)

    def ack(self, edge: EdgeAddress) -> str:
        return self.topic(edge, Channel.ACK)

    def status(self, edge: EdgeAddress) -> str:
        return self.topic(edge, Channel.STATUS)

    def command(self, edge: EdgeAddress, name: str) -> str:
        return self.topic(edge, Channel.CMD, name)

    def commands_filter(self, edge: EdgeAddress) -> str:
        """What an edge subscribes to for its downlink."""
        return f"{self.prefix}/{edge.path}/{Channel.CMD.value}/+"

    def all_edges(self, channel: Channel) -> str:
        """What central subscribes to: one channel of every edge."""
        return f"{self.prefix}/+/+/+/+/{channel.value}"

    def shared(self, group: str, topic_filter: str) -> str:
        """An MQTT 5 shared subscription, so several central workers split the load."""
        return f"$share/{group}/{topic_filter}"

    def parse(self, topic: str) -> tuple[EdgeAddress, Channel, str | None]:
        """Split a topic into the edge it belongs to, its channel and command name."""
        parts = topic.split("/")
        root = self.root.split("/")
        head = len(root) + 1
        if parts[: len(root)] != root or len(parts) < head + 5 or parts[head - 1] != self.version:
            raise ContractError(f"topic {topic!r} is not under {self.prefix}/")
        site, area, line, edge, channel_name, *rest = parts[head:]
        try:
            channel = Channel(channel_name)
        except ValueError:
            raise ContractError(f"topic {topic!r} has unknown channel {channel_name!r}") from None
        name: str | None = None
        if channel is Channel.CMD:
            if len(rest) != 1:
                raise ContractError(f"command topic {topic!r} needs exactly one command name")
            name = rest[0]
            if not SEGMENT.match(name):
                raise ContractError(f"command name {name!r} is not a valid topic segment")
        elif rest:
            raise ContractError(f"topic {topic!r} has extra levels after {channel_name!r}")
        return EdgeAddress(site, area, line, edge), channel, name
