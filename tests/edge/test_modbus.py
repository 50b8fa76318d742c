"""The Modbus coordinator against the simulated machine, over real TCP sockets and ptys."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Literal

import pytest

from edge.devices.base import DeviceError, Reading
from edge.devices.modbus import ModbusCoordinator, ModbusRtu, ModbusTcp
from protocols.counters import CounterReason, CounterTracker
from protocols.modbus import ByteOrder, DataType, Table, TagSpec, Value, plan_blocks
from simulators.modbus import ModbusMachine, Production

Transport = Literal["tcp", "rtu"]


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30.0))


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def started(machine: ModbusMachine) -> AsyncIterator[ModbusMachine]:
    await machine.start()
    try:
        yield machine
    finally:
        await machine.stop()


def coordinator(
    machine: ModbusMachine, tags: list[TagSpec], name: str = "press-1", **options: Any
) -> ModbusCoordinator:
    """A coordinator for ``machine``'s TCP port or pty; ``options`` override its defaults."""
    link: ModbusTcp | ModbusRtu = ModbusTcp("127.0.0.1", machine.port)
    if machine.transport == "rtu":
        link = ModbusRtu(machine.device, baudrate=115200)
    settings: dict[str, Any] = {"timeout_s": 0.5, **options}
    return ModbusCoordinator(name, link=link, tags=tags, unit=machine.unit, **settings)


@asynccontextmanager
async def connected(device: ModbusCoordinator) -> AsyncIterator[ModbusCoordinator]:
    await device.connect()
    try:
        yield device
    finally:
        await device.close()


ORDERS: tuple[ByteOrder, ...] = ("ABCD", "BADC", "CDAB", "DCBA")
REGISTERS: tuple[Table, ...] = ("holding", "input")
BITS: tuple[Table, ...] = ("coil", "discrete")
SAMPLES: dict[DataType, Value] = {
    "int16": -12345,
    "uint16": 54321,
    "int32": -123456789,
    "uint32": 3_000_000_000,
    "float32": -3.25,
    "float64": 12345.678901234,
}


def every_type() -> list[tuple[TagSpec, Value]]:
    """Each data type in each byte order, in holding and input registers, plus bits."""
    tags: list[tuple[TagSpec, Value]] = []
    address = 0
    for table in REGISTERS:
        for data_type, value in SAMPLES.items():
            for order in ORDERS:
                spec = TagSpec(f"{table}-{data_type}-{order}", table, address, data_type, order)
                tags.append((spec, value))
                address += spec.count
        for order in ORDERS:
            spec = TagSpec(f"{table}-string-{order}", table, address, "string", order, length=5)
            tags.append((spec, "PRESS-01"))
            address += spec.count
        tags.append((TagSpec(f"{table}-bool", table, address, "bool"), True))
        address += 1
    tags.append((TagSpec("scaled", "holding", 900, "int16", scale=0.5, offset=-40.0), 21.5))
    for table in BITS:
        tags += [(TagSpec(f"{table}-{i}", table, 3 + i, "bool"), i % 3 == 0) for i in range(20)]
    return tags


@pytest.mark.parametrize("transport", ["tcp", "rtu"])
def test_every_data_type_and_byte_order_reads_back(transport: Transport) -> None:
    tags = every_type()

    async def scenario() -> None:
        async with started(ModbusMachine(tags, transport=transport, unit=7)) as machine:
            device = coordinator(machine, [spec for spec, _ in tags], max_gap=900)
            async with connected(device):
                readings = {r.tag: r for r in await device.poll()}
        assert {name: (r.value, r.quality) for name, r in readings.items()} == {
            spec.name: (value, "good") for spec, value in tags
        }
        assert device.requests == len(plan_blocks(s for s, _ in tags)) == 5

    run(scenario)


def test_known_register_words_decode_in_each_byte_order() -> None:
    """Words as a device manual shows them, written raw: pi as float32 is 0x40490FDB."""
    words = {
        "ABCD": [0x4049, 0x0FDB],
        "BADC": [0x4940, 0xDB0F],
        "CDAB": [0x0FDB, 0x4049],
        "DCBA": [0xDB0F, 0x4940],
    }
    tags = [TagSpec(f"pi-{o}", "input", 2 * i, "float32", o) for i, o in enumerate(ORDERS)]

    async def scenario() -> None:
        async with started(ModbusMachine([(spec, 0.0) for spec in tags])) as machine:
            for spec in tags:
                machine.set_words("input", spec.address, words[spec.byte_order])
            async with connected(coordinator(machine, tags)) as device:
                values = [r.value for r in await device.poll()]
        assert values == [pytest.approx(3.14159274)] * 4

    run(scenario)


def test_tags_are_coalesced_into_the_planned_blocks() -> None:
    tags = [TagSpec(f"t{i}", "holding", 7 * i + (i % 3), "uint32") for i in range(40)]
    tags += [TagSpec(f"c{i}", "coil", 50 * i, "bool") for i in range(5)]
    plan = plan_blocks(tags, max_block=30, max_gap=5)
    assert 2 < len(plan) < len(tags)

    async def scenario() -> None:
        values = [(spec, i) for i, spec in enumerate(tags) if spec.data_type == "uint32"]
        async with started(ModbusMachine(values + [(t, True) for t in tags[40:]])) as machine:
            device = coordinator(machine, tags, max_block=30, max_gap=5)
            async with connected(device):
                for _ in range(3):
                    readings = await device.poll()
                    assert [r.value for r in readings if r.tag.startswith("t")] == list(range(40))
            assert device.requests == machine.requests == 3 * len(plan)

    run(scenario)


def test_a_silent_slave_does_not_delay_another(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge.devices.base")
    tag = TagSpec("speed", "holding", 0, "uint16")

    async def scenario() -> None:
        polled: dict[str, list[float]] = {"alive": [], "dead": []}

        def sink(readings: list[Reading]) -> None:
            polled[readings[0].device].append(time.monotonic())

        async with (
            started(ModbusMachine([(tag, 1)])) as one,
            started(ModbusMachine([(tag, 2)])) as two,
        ):
            options = {
                "interval_s": 0.2,
                "timeout_s": 0.15,
                "backoff_initial_s": 0.1,
                "backoff_max_s": 0.2,
            }
            alive = coordinator(one, [tag], name="alive", **options)
            dead = coordinator(two, [tag], name="dead", **options)
            tasks = [asyncio.create_task(d.run(sink)) for d in (alive, dead)]
            try:
                await wait_until(lambda: len(polled["dead"]) >= 2, "first polls")
                caplog.clear()  # from here on: one error when the silence starts, one recovery
                two.stop_answering()
                silent_from = time.monotonic()
                await wait_until(lambda: dead.health.error_count >= 4, "errors on the dead slave")
                during = [t for t in polled["alive"] if t > silent_from]
                assert dead.health.connected is False and dead.health.current_error
                two.resume()
                await wait_until(lambda: dead.health.connected, "recovery", timeout=3.0)
                await wait_until(lambda: len(polled["dead"]) >= 4, "polls after recovery")
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        gaps = [b - a for a, b in itertools.pairwise(during)]
        assert len(gaps) >= 4
        assert all(0.15 <= gap <= 0.25 for gap in gaps), gaps
        assert alive.health.error_count == 0
        assert dead.health.current_error is None and dead.health.error_count >= 4

    run(scenario)
    records = [r for r in caplog.records if getattr(r, "device", None) == "dead"]
    assert [r.getMessage() for r in records] == ["device error", "device recovered"]


def test_an_out_of_range_value_is_bad_for_that_tag_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge.devices.modbus")
    temperature = TagSpec("temperature", "holding", 0, "int16", scale=0.5, maximum=120.0)
    pressure = TagSpec("pressure", "holding", 1, "float32")
    count = TagSpec("count", "input", 0, "uint16")
    tags = [(temperature, 150.0), (pressure, 2.5), (count, 7)]

    async def scenario() -> None:
        async with started(ModbusMachine(tags)) as machine:
            device = coordinator(machine, [spec for spec, _ in tags])
            async with connected(device):
                for _ in range(2):
                    readings = {r.tag: (r.value, r.quality) for r in await device.poll()}
                    assert readings == {
                        "temperature": (None, "bad"),
                        "pressure": (2.5, "good"),
                        "count": (7, "good"),
                    }
                machine.set_words("holding", 1, [0x7FC0, 0])  # a NaN float
                machine.set("temperature", 99.5)
                readings = {r.tag: (r.value, r.quality) for r in await device.poll()}
                assert readings["temperature"] == (99.5, "good")
                assert readings["pressure"] == (None, "bad")
            assert device.health.error_count == 0

    run(scenario)
    messages = [
        (r.getMessage(), getattr(r, "tag", None))
        for r in caplog.records
        if r.name == "edge.devices.modbus"
    ]
    assert messages == [
        ("tag value refused", "temperature"),
        ("tag value good again", "temperature"),
        ("tag value refused", "pressure"),
    ]


def test_counters_across_rollover_and_reset_book_every_piece() -> None:
    production = Production(
        good=TagSpec("good", "holding", 10, "uint16"),
        scrap=TagSpec("scrap", "holding", 11, "uint16", byte_order="BADC"),
        state=TagSpec("state", "holding", 12, "uint16"),
        rate=1000.0,
        scrap_rate=40.0,
        good_start=65_000,  # wraps after 536 pieces
    )
    trackers = {name: CounterTracker(bits=16, max_rate=10_000.0) for name in ("good", "scrap")}
    booked = {"good": 0, "scrap": 0}
    reasons: list[CounterReason] = []

    def sink(readings: list[Reading]) -> None:
        for reading in readings:
            if reading.tag in trackers:
                assert isinstance(reading.value, int)
                result = trackers[reading.tag].feed(reading.value, reading.source_ts.timestamp())
                booked[reading.tag] += result.delta
                reasons.append(result.reason)

    async def scenario() -> None:
        async with started(ModbusMachine(production=production, state="idle")) as machine:
            tags = [production.good, production.scrap]
            device = coordinator(machine, tags, interval_s=0.05, timeout_s=0.3)
            task = asyncio.create_task(device.run(sink))

            async def settle() -> None:  # two more polls: the second one began after the change
                target = len(reasons) + 4
                await wait_until(lambda: len(reasons) >= target, "two more polls")

            try:
                await settle()
                machine.set_state("running")
                await wait_until(lambda: CounterReason.ROLLOVER in reasons, "the rollover")
                machine.set_state("idle")
                await settle()
                machine.reset()
                await settle()
                assert CounterReason.RESET in reasons
                machine.set_state("running")
                await wait_until(lambda: machine.good_made > 900, "more pieces")
                machine.set_state("idle")
                await settle()
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            assert CounterReason.IMPLAUSIBLE not in reasons
            assert booked == {"good": machine.good_made, "scrap": machine.scrap_made}
            assert machine.good_made > 900 and machine.scrap_made > 20

    run(scenario)


def test_a_lost_reply_is_retried_then_the_poll_fails() -> None:
    tag = TagSpec("speed", "holding", 0, "uint16")

    async def scenario() -> None:
        async with started(ModbusMachine([(tag, 42)])) as machine:
            device = coordinator(machine, [tag], timeout_s=0.1, retries=1)
            async with connected(device):
                machine.drop_replies(1)
                assert [r.value for r in await device.poll()] == [42]
                assert device.requests == 2
                machine.drop_replies(2)
                with pytest.raises(DeviceError, match="no reply after 2 request"):
                    await device.poll()

    run(scenario)


def test_an_exception_response_or_no_listener_is_a_device_error() -> None:
    present = TagSpec("present", "holding", 0, "uint16")
    missing = TagSpec("missing", "holding", 500, "uint16")

    async def scenario() -> None:
        async with started(ModbusMachine([(present, 1)])) as machine:
            device = coordinator(machine, [present, missing])
            async with connected(device):
                with pytest.raises(DeviceError, match="ILLEGAL_ADDRESS"):
                    await device.poll()
        with pytest.raises(DeviceError, match="cannot connect"):
            await coordinator(machine, [present], timeout_s=0.3).connect()

    run(scenario)
