"""Downlink commands: cached from retained topics, newest version wins, foreign or bad ignored."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.downlink import Downlink
from edge.node import EdgeNode
from edge.settings import EdgeSettings, MqttSettings, NodeSettings
from edge.store import Writer
from protocols.contract import Command, DispatchList, EdgeAddress, MasterData, encode
from tests.edge.support import ADDRESS, EDGE_ID, LAYOUT, Subscriber, wait_until
from tests.helpers import Mosquitto

OTHER = EdgeAddress("plant1", "assembly", "line2", "edge1")


def dispatch_body(work_order: str) -> dict[str, Any]:
    return {
        "orders": [
            {
                "work_order": work_order,
                "item": "ITEM-1",
                "quantity": 10,
                "sequence": 1,
                "operations": [{"operation": "10", "work_center": "WC-1", "quantity": 10}],
            }
        ]
    }


def command(
    version: int,
    body: dict[str, Any],
    *,
    name: str = "dispatch_list",
    edge_id: str = EDGE_ID,
) -> bytes:
    return encode(
        Command(
            command=name,
            edge_id=edge_id,
            version=version,
            issued_at=datetime.now(UTC),
            body=body,
        )
    )


def version(node: EdgeNode, name: str) -> int:
    current = node.downlink.current(name)
    return current[0] if current else 0


def cached(body: dict[str, Any]) -> dict[str, Any]:
    """What the edge keeps of a dispatch list body: the validated model, defaults filled in."""
    return DispatchList.model_validate(body).model_dump(mode="json")


@pytest.fixture
def make_node(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Callable[[], EdgeNode]]:
    """Start an edge node on the test's broker; each one made is stopped at teardown."""
    nodes: list[EdgeNode] = []

    def make() -> EdgeNode:
        settings = EdgeSettings(
            node=NodeSettings(
                site=ADDRESS.site,
                area=ADDRESS.area,
                line=ADDRESS.line,
                name=ADDRESS.edge,
                data_dir=tmp_path / "edge",
            ),
            mqtt=MqttSettings(url=mosquitto.url),
        )
        node = EdgeNode(settings)
        nodes.append(node)
        node.start()
        return node

    yield make
    for node in nodes:
        node.stop()  # stopping twice is harmless


@pytest.fixture
def central(mosquitto: Mosquitto) -> Iterator[Subscriber]:
    """Central's side of the downlink: a client that publishes retained commands."""
    client = Subscriber(mosquitto.url)
    yield client
    client.close()


def publish(central: Subscriber, raw: bytes, *, name: str = "dispatch_list") -> None:
    info = central.client.publish(LAYOUT.command(ADDRESS, name), raw, qos=1, retain=True)
    info.wait_for_publish(5)


@pytest.mark.services
def test_retained_commands_are_cached_and_newest_version_wins(
    make_node: Callable[[], EdgeNode], central: Subscriber
) -> None:
    publish(central, command(1, dispatch_body("WO-1")))  # retained before the edge is up
    node = make_node()
    wait_until(lambda: node.downlink.current("dispatch_list"), what="the retained command")
    assert node.downlink.current("dispatch_list") == (1, cached(dispatch_body("WO-1")))

    publish(central, command(3, dispatch_body("WO-3")))
    wait_until(lambda: version(node, "dispatch_list") == 3, what="version 3")
    assert node.downlink.current("dispatch_list") == (3, cached(dispatch_body("WO-3")))

    # an older version arrives late; a command after it shows it was handled
    publish(central, command(2, dispatch_body("WO-2")))
    publish(central, command(1, {}, name="master_data"), name="master_data")
    wait_until(lambda: node.downlink.current("master_data"), what="master data")
    assert node.downlink.current("master_data") == (1, MasterData().model_dump(mode="json"))
    assert node.downlink.current("dispatch_list") == (3, cached(dispatch_body("WO-3")))

    # a command for another edge id on this edge's topic, and garbage, change nothing
    publish(central, command(9, dispatch_body("WO-X"), edge_id=OTHER.path))
    publish(central, b"{not json")
    publish(central, command(2, {}, name="master_data"), name="master_data")
    wait_until(lambda: version(node, "master_data") == 2, what="master data v2")
    assert node.downlink.current("dispatch_list") == (3, cached(dispatch_body("WO-3")))

    # after a restart the broker replays its retained (older, then garbage) command: harmless
    node.stop()
    publish(central, command(2, dispatch_body("WO-2")))
    node = make_node()
    wait_until(lambda: node.uplink.connected, what="edge reconnected")
    publish(central, command(3, {}, name="master_data"), name="master_data")
    wait_until(lambda: version(node, "master_data") == 3, what="master data v3")
    assert node.downlink.current("dispatch_list") == (3, cached(dispatch_body("WO-3")))


@pytest.fixture
def downlink(writer: Writer) -> Downlink:
    return Downlink(writer, EDGE_ID, LAYOUT)


def test_an_older_or_equal_version_never_replaces_a_newer(downlink: Downlink) -> None:
    topic = LAYOUT.command(ADDRESS, "dispatch_list")
    downlink.handle(topic, command(5, dispatch_body("WO-5")))
    assert downlink.current("dispatch_list") == (5, cached(dispatch_body("WO-5")))
    downlink.handle(topic, command(4, dispatch_body("WO-4")))
    downlink.handle(topic, command(5, dispatch_body("WO-5b")))
    assert downlink.current("dispatch_list") == (5, cached(dispatch_body("WO-5")))
    downlink.handle(topic, command(6, dispatch_body("WO-6")))
    assert downlink.current("dispatch_list") == (6, cached(dispatch_body("WO-6")))
    assert downlink.current("master_data") is None


@pytest.mark.parametrize(
    ("topic", "raw"),
    [
        pytest.param(
            LAYOUT.command(OTHER, "dispatch_list"),
            command(1, dispatch_body("WO-1"), edge_id=OTHER.path),
            id="another edge",
        ),
        pytest.param(
            LAYOUT.command(ADDRESS, "dispatch_list"),
            command(1, dispatch_body("WO-1"), edge_id=OTHER.path),
            id="another edge id on our topic",
        ),
        pytest.param(
            LAYOUT.command(OTHER, "dispatch_list"),
            command(1, dispatch_body("WO-1")),
            id="our edge id on another topic",
        ),
        pytest.param(
            LAYOUT.command(ADDRESS, "master_data"),
            command(1, dispatch_body("WO-1")),
            id="command on the wrong topic",
        ),
        pytest.param(LAYOUT.command(ADDRESS, "dispatch_list"), b"{not json", id="not json"),
        pytest.param(
            LAYOUT.command(ADDRESS, "dispatch_list"), command(1, {"orders": "none"}), id="bad body"
        ),
        pytest.param(
            LAYOUT.command(ADDRESS, "dispatch_list"),
            command(1, dispatch_body("WO-1")).replace(b'"version":1', b'"version":0'),
            id="bad version",
        ),
        pytest.param(
            "somewhere/else/cmd/dispatch_list", command(1, dispatch_body("WO-1")), id="bad topic"
        ),
    ],
)
def test_foreign_or_malformed_commands_are_ignored(
    downlink: Downlink, topic: str, raw: bytes
) -> None:
    downlink.handle(topic, raw)
    assert downlink.current("dispatch_list") is None
    assert downlink.current("master_data") is None
