"""The simulated count station: counters, rollover and reset, and its messages on a pty."""

from __future__ import annotations

import asyncio
import os
import select
from collections.abc import Iterator

import pytest

from simulators.count_station import CountStation
from tests.helpers import wait_until


@pytest.fixture
def station() -> Iterator[CountStation]:
    sim = CountStation(rate=0, bits=16, good_start=65534)
    yield sim
    sim.close()


def read_lines(device: str, count: int, terminator: bytes = b"\r") -> list[bytes]:
    """``count`` lines from the edge's side of the pty."""
    fd = os.open(device, os.O_RDONLY | os.O_NOCTTY)
    try:
        data = b""
        while data.count(terminator) < count:
            assert select.select([fd], [], [], 5)[0], f"only {data!r} within 5 s"
            data += os.read(fd, 4096)
        return data.split(terminator)[:count]
    finally:
        os.close(fd)


def test_counters_roll_over_and_reset_to_zero(station: CountStation) -> None:
    station.count(good=3, scrap=1)
    assert (station.good, station.scrap, station.good_made) == (1, 1, 3)  # 65534 + 3 wraps
    station.reset()
    assert (station.good, station.scrap) == (0, 0)
    station.count(good=2)
    assert (station.good, station.good_made, station.scrap_made) == (2, 5, 1)
    assert station.message() == "good=2;scrap=0"


def test_pieces_come_at_the_rate() -> None:
    sim = CountStation(rate=1000, scrap_rate=100)
    try:
        first = sim.good_made
        wait_until(lambda: sim.good_made >= first + 50, what="50 pieces")
        assert sim.scrap_made <= sim.good_made // 10 + 1
    finally:
        sim.close()


def test_messages_arrive_on_the_pty_with_the_terminator(station: CountStation) -> None:
    station.send()
    station.send_raw("garbled")
    assert read_lines(station.device, 2) == [b"good=65534;scrap=0", b"garbled"]


def test_started_it_sends_at_its_interval_until_stopped() -> None:
    async def scenario() -> None:
        sim = CountStation(rate=0, interval_s=0.05, terminator=b"\n", scrap=False)
        await sim.start()
        try:
            lines = await asyncio.to_thread(read_lines, sim.device, 3, b"\n")
        finally:
            await sim.stop()
        assert lines == [b"good=0"] * 3

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_line_nobody_reads_never_blocks_the_station(station: CountStation) -> None:
    for _ in range(20_000):  # some 400 KiB: more than a pty holds
        station.send()
    assert 0 < station.sent < 20_000, "what did not fit was dropped"
