"""The OPC UA coordinator against the simulated machine, a real asyncua server on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua

from edge.devices.base import DeviceError, Reading
from edge.devices.factory import build
from edge.devices.opcua import OpcUaCoordinator, OpcUaSecurity, OpcUaTag, plain_value, quality_of
from edge.settings import DeviceSettings
from protocols.counters import CounterReading, CounterReason, CounterTracker
from simulators.opcua import OpcUaMachine, make_certificate

SCENARIO_TIMEOUT_S = 40.0


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), SCENARIO_TIMEOUT_S))


async def wait_until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def serving(machine: OpcUaMachine) -> AsyncIterator[OpcUaMachine]:
    await machine.start()
    try:
        yield machine
    finally:
        await machine.stop()


@contextlib.asynccontextmanager
async def running(
    coordinator: OpcUaCoordinator, sink: Callable[[list[Reading]], None]
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(coordinator.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def coordinator(machine: OpcUaMachine, *tags: OpcUaTag, **options: Any) -> OpcUaCoordinator:
    options = {"publishing_interval_s": 0.1, "heartbeat_timeout_s": 2.0, **options}
    return OpcUaCoordinator("press-1", endpoint=machine.endpoint, tags=tags, **options)


def good_count(machine: OpcUaMachine) -> OpcUaTag:
    return OpcUaTag("good", machine.node_id("GoodCount"))


def values(readings: list[Reading], tag: str) -> list[Any]:
    return [r.value for r in readings if r.tag == tag]


@pytest.mark.parametrize(
    ("status", "quality"),
    [
        (None, "good"),
        (ua.StatusCodes.Good, "good"),
        (ua.StatusCodes.GoodOverload, "good"),
        (ua.StatusCodes.UncertainLastUsableValue, "uncertain"),
        (ua.StatusCodes.BadNotConnected, "bad"),
        (ua.StatusCodes.BadNodeIdUnknown, "bad"),
    ],
)
def test_quality_comes_from_the_status_code_severity(status: int | None, quality: str) -> None:
    assert quality_of(None if status is None else ua.StatusCode(status)) == quality


def test_values_become_plain_values() -> None:
    stamp = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert plain_value(ua.UInt32(7)) == 7
    assert plain_value(stamp) == "2026-03-02T06:00:00+00:00"
    assert plain_value(ua.LocalizedText("running")) == "running"
    assert plain_value(None) is None


@pytest.mark.parametrize("address", ["Machine1.GoodCount", "ns=x;s=A", "Objects/Machine1", ""])
def test_a_bad_address_is_refused_at_start_up(address: str) -> None:
    with pytest.raises(ValueError, match="tag 'good'"):
        OpcUaTag("good", address)


def test_reads_by_node_id_and_by_browse_path() -> None:
    async def scenario() -> None:
        async with serving(OpcUaMachine(1, rate=20.0)) as machine:
            device = coordinator(
                machine,
                good_count(machine),
                OpcUaTag("state", "0:Objects/2:Machine1/2:State"),
                OpcUaTag("cycle", "0:Objects/2:Machine1/2:CycleTime"),
            )
            await device.connect()
            try:
                readings = {r.tag: r for r in await device.poll()}
            finally:
                await device.close()
        assert isinstance(readings["good"].value, int)
        assert readings["state"].value == "running"
        assert readings["cycle"].value == pytest.approx(0.05)
        assert {r.quality for r in readings.values()} == {"good"}
        age = datetime.now(UTC) - readings["good"].source_ts
        assert timedelta(0) <= age < timedelta(seconds=10)

    run(scenario)


def test_subscription_delivers_changes_with_server_timestamps() -> None:
    async def scenario() -> None:
        readings: list[Reading] = []
        async with serving(OpcUaMachine(1, rate=20.0)) as machine:
            state = OpcUaTag("state", machine.node_id("State"))
            alarm = OpcUaTag("alarm", machine.node_id("Alarm"))
            device = coordinator(machine, good_count(machine), state, alarm)
            async with running(device, readings.extend):
                await wait_until(lambda: len(set(values(readings, "good"))) >= 10, "10 counts")
                await machine.set_state("down", alarm="E-STOP pressed")
                await wait_until(lambda: "down" in values(readings, "state"), "state down")
                await wait_until(lambda: "E-STOP pressed" in values(readings, "alarm"), "alarm")
            assert device.health.connected and device.health.error_count == 0
        counts = [r for r in readings if r.tag == "good"]
        assert all(r.quality == "good" for r in readings)
        assert [r.value for r in counts] == sorted(r.value for r in counts)
        stamps = [r.source_ts for r in counts]
        assert stamps == sorted(stamps) and len(set(stamps)) > 5  # the server's, per change

    run(scenario)


def test_poll_mode_reads_every_interval() -> None:
    async def scenario() -> None:
        readings: list[Reading] = []
        async with serving(OpcUaMachine(1, rate=20.0)) as machine:
            device = coordinator(machine, good_count(machine), mode="poll", interval_s=0.1)
            async with running(device, readings.extend):
                await wait_until(lambda: len(readings) >= 10, "10 polls")
                assert device.health.error_count == 0
                machine.drop_connections()
                await wait_until(lambda: device.health.error_count > 0, "the drop noticed")
                seen = len(readings)
                await wait_until(lambda: len(readings) > seen + 3, "polls after reconnecting")
            assert device.health.current_error is None
        assert values(readings, "good")[-1] > values(readings, "good")[0]

    run(scenario)


def test_server_restart_loses_no_pieces() -> None:
    async def scenario() -> None:
        tracker = CounterTracker(bits=32, max_rate=40.0, slack=2.0)
        counts: list[int] = []
        booked: list[CounterReading] = []

        def sink(readings: list[Reading]) -> None:
            for r in readings:
                if r.tag == "good" and isinstance(r.value, int):
                    counts.append(r.value)
                    booked.append(tracker.feed(r.value, r.source_ts.timestamp()))

        async with serving(OpcUaMachine(1, rate=20.0)) as machine:
            device = coordinator(machine, good_count(machine), backoff_max_s=1.0)
            async with running(device, sink):
                await wait_until(lambda: len(counts) >= 5, "counts before the restart")
                before = machine.good
                await machine.restart()
                assert machine.good > before  # the machine counted while its server restarted
                await wait_until(lambda: device.health.error_count > 0, "the restart noticed")
                await wait_until(lambda: device.health.current_error is None, "reconnected")
                await machine.set_state("idle")  # counting stops: the final value is known
                # (on a loaded machine the first subscription after a restart can stay silent
                # until the heartbeat renews it: the count arrives late, but it arrives)
                await wait_until(lambda: counts[-1] == machine.good, "the final count", 60.0)
        assert sum(b.delta for b in booked) == machine.good - counts[0]
        reasons = {b.reason for b in booked}
        assert reasons <= {CounterReason.BASELINE, CounterReason.COUNT, CounterReason.UNCHANGED}

    run(scenario)


def test_a_dead_subscription_is_found_by_the_heartbeat(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        readings: list[Reading] = []
        async with serving(OpcUaMachine(1, rate=20.0)) as machine:
            device = coordinator(machine, good_count(machine))
            async with running(device, readings.extend):
                await wait_until(lambda: len(readings) >= 3, "first counts")
                await machine.forget_subscriptions()  # reads still work, publishes stop
                await wait_until(lambda: device.health.error_count > 0, "the heartbeat missed")
                await wait_until(lambda: device.health.current_error is None, "resubscribed")
                seen = len(readings)
                await wait_until(lambda: len(readings) > seen + 3, "counts after resubscribing")
        errors = [getattr(r, "error", "") for r in caplog.records if r.msg == "device error"]
        assert "no heartbeat" in errors[0]

    with caplog.at_level(logging.INFO, logger="edge.devices.base"):
        run(scenario)


def test_an_unknown_node_is_a_clear_device_error(caplog: pytest.LogCaptureFixture) -> None:
    cases = [
        ("ns=2;s=Machine1.NoSuchTag", r"node ns=2;s=Machine1\.NoSuchTag does not exist on opc"),
        ("0:Objects/2:Machine1/2:NoSuchTag", r"browse path .*NoSuchTag' not found on opc"),
    ]

    async def check(machine: OpcUaMachine, address: str, error: str) -> None:
        device = coordinator(machine, OpcUaTag("good", address))
        with pytest.raises(DeviceError, match=error):
            await device.connect()
            await device.poll()
        await device.close()
        caplog.clear()
        async with running(device, lambda _: None):
            await wait_until(lambda: device.health.error_count >= 2, "a retry")
        assert "NoSuchTag" in str(device.health.current_error)
        assert not device.health.connected
        logged = [r for r in caplog.records if r.msg == "device error"]
        assert len(logged) == 1  # when the error started, not on every retry

    async def scenario() -> None:
        async with serving(OpcUaMachine(1)) as machine:
            for address, error in cases:
                await check(machine, address, error)

    with caplog.at_level(logging.INFO, logger="edge.devices.base"):
        run(scenario)


def test_secure_login_and_a_refused_password(tmp_path: Path) -> None:
    async def scenario() -> None:
        machine = OpcUaMachine(1, users={"operator": "s3cret"})
        machine.certificate, machine.private_key = await make_certificate(
            tmp_path, "server", machine.application_uri, server=True
        )
        cert, key = await make_certificate(tmp_path, "edge", "urn:floorsync:edge", server=False)
        tags = (good_count(machine),)

        async def login(**options: Any) -> None:
            device = coordinator(machine, *tags, **options)
            try:
                await device.connect()
                assert [r.quality for r in await device.poll()] == ["good"]
            finally:
                await device.close()

        async with serving(machine):
            for security in (OpcUaSecurity(cert, key, mode="Sign"), OpcUaSecurity(cert, key)):
                await login(security=security, username="operator", password="s3cret")
            secure = OpcUaSecurity(cert, key)
            with pytest.raises(DeviceError, match=r"refused user 'operator' .*BadUserAccessDenied"):
                await login(security=secure, username="operator", password="wrong")
            with pytest.raises(DeviceError, match="requires another security policy or mode"):
                await login(username="operator", password="s3cret")

    run(scenario)


def test_security_comes_from_the_edge_config(tmp_path: Path) -> None:
    async def scenario() -> None:
        machine = OpcUaMachine(1, users={"operator": "s3cret"})
        machine.certificate, machine.private_key = await make_certificate(
            tmp_path, "server", machine.application_uri, server=True
        )
        cert, key = await make_certificate(tmp_path, "edge", "urn:floorsync:edge", server=False)
        settings = DeviceSettings.model_validate(
            {
                "name": "m1",
                "kind": "opcua",
                "endpoint": machine.endpoint,
                "mode": "poll",
                "security": "SignAndEncrypt",
                "certificate": str(cert),
                "private_key": str(key),
                "username": "operator",
                "password": "s3cret",
                "tags": [{"name": "good", "node": good_count(machine).address}],
            }
        )
        async with serving(machine):
            device = build(settings)
            try:
                await device.connect()
                assert [r.quality for r in await device.poll()] == ["good"]
            finally:
                await device.close()

    run(scenario)


def test_security_without_a_certificate_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="needs certificate, private_key"):
        DeviceSettings.model_validate(
            {
                "name": "m1",
                "kind": "opcua",
                "security": "Sign",
                "endpoint": "opc.tcp://127.0.0.1:4840/",
            }
        )
