"""Edge fixtures: a store and outbox on a temporary file, uplinks and a fake central on a
real Mosquitto; everything started here is stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.outbox import Outbox
from edge.store import Writer
from edge.uplink import Uplink, UplinkSettings
from protocols.mqtt import BrokerUrl
from tests.edge.support import ADDRESS, EDGE_ID, LAYOUT, FakeCentral
from tests.helpers import Mosquitto


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
