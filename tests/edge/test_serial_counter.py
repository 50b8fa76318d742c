"""The serial count station coordinator against the simulated station, over real ptys."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edge.devices.base import Reading
from edge.devices.factory import build
from edge.devices.loop import DeviceLoop
from edge.devices.serial_counter import SerialCounterCoordinator
from edge.line import Line
from edge.outbox import Outbox
from edge.settings import DeviceSettings, EdgeSettings, StationSettings
from simulators import ptys
from simulators.count_station import CountStation
from tests.edge.support import stays, wait_until

NODE = {"site": "plant1", "area": "assembly", "line": "line1", "name": "edge1"}


@pytest.fixture
def station() -> Iterator[CountStation]:
    sim = CountStation(rate=0)
    yield sim
    sim.close()


def counter(port: str, **settings: Any) -> SerialCounterCoordinator:
    """A coordinator built as the edge builds it, from a ``[[devices]]`` table."""
    device = DeviceSettings.model_validate(
        {"name": "counter1", "kind": "serial_counter", "serial_port": port, **settings}
    )
    coordinator = build(device)
    assert isinstance(coordinator, SerialCounterCoordinator)
    # reopen a lost port quickly, as a test cannot wait out the production back-off
    coordinator.backoff_initial_s, coordinator.backoff_max_s = 0.05, 0.2
    return coordinator


@contextmanager
def running(
    coordinator: SerialCounterCoordinator, sink: Callable[[list[Reading]], None]
) -> Iterator[None]:
    """The coordinator on the edge's device loop, in its own thread, as in production."""
    loop = DeviceLoop([coordinator], sink)
    loop.start()
    try:
        yield
    finally:
        loop.stop()


def connect(station: CountStation, received: Callable[[], object]) -> None:
    """Send until a message gets through: pyserial empties the line when it opens the port."""

    def got_through() -> bool:
        if received():
            return True
        station.send()
        return False

    wait_until(got_through, what="a message through the port")


def test_each_message_becomes_a_good_reading_per_counter(station: CountStation) -> None:
    readings: list[Reading] = []
    coordinator = counter(station.device)
    with running(coordinator, readings.extend):
        station.count(good=5, scrap=2)
        connect(station, lambda: readings)
        first = readings[0]
        assert (first.device, first.quality) == ("counter1", "good")
        assert {(r.tag, r.value) for r in readings} == {("good", 5), ("scrap", 2)}
        station.count(good=3)
        station.send()
        wait_until(lambda: ("good", 8) in {(r.tag, r.value) for r in readings}, what="good=8")
    health = coordinator.health
    assert health.connected and health.last_good_read is not None and health.reads >= 2
    assert (health.error_count, health.current_error) == (0, None)


def test_rollover_and_reset_are_booked_by_the_line(outbox: Outbox) -> None:
    settings = StationSettings(
        name="ST-40",
        machine="M-ASSY-04",
        good_counter="counter1.good",
        scrap_counter="counter1.scrap",
        counter_bits=16,
        max_rate=10_000,  # the test makes pieces far faster than a station could
    )
    line = Line([settings], outbox)
    sim = CountStation(rate=0, bits=16, good_start=65530)
    coordinator = counter(sim.device)

    def booked() -> tuple[object, object]:
        status = line.status()["ST-40"]
        return status["good"], status["scrap"]

    try:
        with running(coordinator, line.on_readings):
            connect(sim, lambda: coordinator.health.reads)  # 65530 / 0: the baseline
            sim.count(good=4, scrap=5)
            sim.send()
            wait_until(lambda: booked() == (4, 5), what="4 good, 5 scrap")
            sim.count(good=5)  # 65534 -> 3: over the 16-bit rollover
            sim.send()
            wait_until(lambda: booked() == (9, 5), what="5 more good across the rollover")
            sim.reset()  # the station restarts: both counters from 0
            sim.count(good=2, scrap=2)
            assert (sim.good, sim.scrap) == (2, 2)
            sim.send()
            wait_until(lambda: booked() == (11, 7), what="the pieces since the reset")
    finally:
        sim.close()
    assert line.status()["ST-40"]["implausible_jumps"] == 0
    assert (sim.good_made, sim.scrap_made) == (11, 7), "every piece made was booked once"


def test_a_line_that_is_no_message_is_counted_and_no_reading_but_not_a_lost_device(
    station: CountStation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    readings: list[Reading] = []
    coordinator = counter(station.device)
    station.count(good=7)
    with running(coordinator, readings.extend):
        connect(station, lambda: readings)
        station.send_raw("good=12x")
        station.send_raw("hello")
        wait_until(lambda: coordinator.health.error_count == 2, what="two unreadable lines")
        # the port works: the station's machine must not go offline for a garbled line
        assert coordinator.health.connected is True
        assert coordinator.health.current_error is None
        station.count(good=3)
        station.send()
        wait_until(lambda: ("good", 10) in {(r.tag, r.value) for r in readings}, what="next")
    assert {(r.tag, r.value) for r in readings} == {("good", 7), ("good", 10), ("scrap", 0)}
    messages = [r.message for r in caplog.records]
    assert messages.count("unreadable count message") == 1  # once per run of bad lines
    assert messages.count("count messages readable again") == 1
    assert messages.count("device error") == 0


def test_a_port_that_goes_away_is_reopened_when_it_is_back(tmp_path: Path) -> None:
    port = tmp_path / "counter1.tty"
    first = CountStation(rate=0)
    ptys.link(port, first.device)
    readings: list[Reading] = []
    coordinator = counter(str(port))
    second = None
    try:
        with running(coordinator, readings.extend):
            first.count(good=3)
            connect(first, lambda: readings)
            ptys.unlink(port, first.device)
            first.close()  # unplugged
            wait_until(lambda: not coordinator.health.connected, what="the port lost")
            assert "went away" in (coordinator.health.current_error or "")
            wait_until(
                lambda: "cannot open" in (coordinator.health.current_error or ""),
                what="reopening tried",
            )
            second = CountStation(rate=0)  # plugged in again: a new pty behind the same path
            ptys.link(port, second.device)
            second.count(good=40)
            connect(second, lambda: ("good", 40) in {(r.tag, r.value) for r in readings})
            assert coordinator.health.connected and coordinator.health.current_error is None
    finally:
        first.close()
        if second is not None:
            ptys.unlink(port, second.device)
            second.close()


def test_silence_is_an_error_once_until_the_station_speaks(
    station: CountStation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    readings: list[Reading] = []
    coordinator = counter(station.device, stale_after_s=0.3)
    with running(coordinator, readings.extend):
        connect(station, lambda: readings)
        wait_until(lambda: coordinator.health.current_error, what="silence noticed")
        assert "no message" in (coordinator.health.current_error or "")
        assert not coordinator.health.connected
        assert stays(lambda: coordinator.health.error_count == 1, 0.7), "counted once"
        station.send()
        wait_until(lambda: coordinator.health.connected, what="the station heard again")
    assert [r.message for r in caplog.records].count("device error") == 1


def test_a_missing_port_is_an_error_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    coordinator = counter("/dev/floorsync-no-such-port")
    with running(coordinator, lambda readings: None):
        wait_until(lambda: coordinator.health.error_count >= 3, what="retries")
    assert coordinator.health.connected is False
    assert "cannot open /dev/floorsync-no-such-port" in (coordinator.health.current_error or "")
    assert [r.message for r in caplog.records].count("device error") == 1


@pytest.mark.parametrize(
    ("device", "error"),
    [
        ({}, "a serial_counter device needs serial_port"),
        ({"serial_port": "/dev/ttyUSB0", "pattern": "(\\d+)"}, "has no named group"),
        ({"serial_port": "/dev/ttyUSB0", "pattern": "(?P<good"}, "no regular expression"),
        (
            {"serial_port": "/dev/ttyUSB0", "tags": [{"name": "good", "address": 0}]},
            "named groups of its pattern",
        ),
    ],
)
def test_a_serial_counter_is_checked_at_start_up(device: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        DeviceSettings.model_validate({"name": "counter1", "kind": "serial_counter", **device})


@pytest.mark.parametrize(
    ("pattern", "signal", "valid"),
    [
        (None, "counter1.good", True),
        (None, "counter1.scrap", True),
        (None, "counter1.total", False),
        (r"(?P<total>\d+),(?P<rejects>\d+)", "counter1.rejects", True),
        (r"(?P<total>\d+),(?P<rejects>\d+)", "counter1.good", False),
    ],
)
def test_station_signals_are_the_pattern_groups(
    pattern: str | None, signal: str, valid: bool
) -> None:
    device: dict[str, Any] = {"name": "counter1", "kind": "serial_counter", "serial_port": "x"}
    if pattern is not None:
        device["pattern"] = pattern
    config = {
        "node": NODE,
        "devices": [device],
        "stations": [{"name": "ST-40", "machine": "M-ASSY-04", "good_counter": signal}],
    }
    if valid:
        EdgeSettings.model_validate(config)
    else:
        with pytest.raises(ValidationError, match="is no device tag"):
            EdgeSettings.model_validate(config)
