"""Edge fixtures: a store and outbox on a temporary file, uplinks and a fake central on a
real Mosquitto; everything started here is stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.api import create_app
from edge.node import EdgeNode
from edge.outbox import Outbox
from edge.settings import ApiTokenSettings, EdgeSettings, MqttSettings, NodeSettings
from edge.store import Writer
from edge.uplink import Uplink, UplinkSettings
from protocols.mqtt import BrokerUrl
from tests.edge.support import ADDRESS, EDGE_ID, LAYOUT, FakeCentral
from tests.helpers import EDGE_API_TOKENS, EDGE_AUTH, Mosquitto, TestClient, free_port


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Writer]:
    w = Writer(tmp_path / "edge.db")
    yield w
    w.close()


@pytest.fixture
def outbox(writer: Writer) -> Iterator[Outbox]:
    box = Outbox(writer, EDGE_ID)
    yield box
    box.close()


@pytest.fixture
def make_uplink(outbox: Outbox, mosquitto: Mosquitto) -> Iterator[Callable[..., Uplink]]:
    """Start an uplink for ``outbox`` (or ``box``) on the test's broker; stopped at teardown."""
    started: list[Uplink] = []

    def make(*, start: bool = True, box: Outbox | None = None, **settings: Any) -> Uplink:
        uplink = Uplink(
            box or outbox,
            ADDRESS,
            BrokerUrl.parse(mosquitto.url),
            layout=LAYOUT,
            settings=UplinkSettings(**settings),
        )
        started.append(uplink)
        if start:
            uplink.start()
        return uplink

    yield make
    for uplink in started:
        uplink.stop()


@pytest.fixture
def make_central(mosquitto: Mosquitto) -> Iterator[Callable[..., FakeCentral]]:
    made: list[FakeCentral] = []

    def make(*, auto_ack: bool = False) -> FakeCentral:
        central = FakeCentral(mosquitto.url, auto_ack=auto_ack)
        made.append(central)
        return central

    yield make
    for central in made:
        central.close()


# The edge API over a node that is never started (the API works from the outbox alone,
# broker or not); a module with a line of its own defines its own ``node``.
@pytest.fixture
def node(tmp_path: Path) -> Iterator[EdgeNode]:
    """A node that is never started: the API works from the outbox alone, broker or not."""
    settings = EdgeSettings(
        node=NodeSettings(
            site=ADDRESS.site,
            area=ADDRESS.area,
            line=ADDRESS.line,
            name=ADDRESS.edge,
            data_dir=tmp_path,
        ),
        mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}"),
        api_tokens=[ApiTokenSettings(**token) for token in EDGE_API_TOKENS],
    )
    edge = EdgeNode(settings)
    yield edge
    edge.stop()


@pytest.fixture
def client(node: EdgeNode) -> Iterator[TestClient]:
    with TestClient(create_app(node, manage=False), headers=EDGE_AUTH) as test_client:
        yield test_client
