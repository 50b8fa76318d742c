"""Simulators from the command line: ``floorsync sim modbus|opcua|scanner|count|plant``."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path
from typing import Literal

from protocols.modbus import TagSpec
from simulators import ptys
from simulators.count_station import CountStation
from simulators.modbus import ModbusMachine, Production
from simulators.opcua import OpcUaMachine, make_certificate
from simulators.plant import run_plant
from simulators.scanner import SAMPLE_SCANS, ScannerSimulator

PRESS_MAP = (
    "holding 0: good (uint32), holding 2: scrap (uint32), "
    "holding 4: state (uint16: 0 idle, 1 running, 2 setup, 3 down)"
)


def _stop_on_signals() -> asyncio.Event:
    """Set on Ctrl-C or SIGTERM; installed before the device starts, so none is missed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def modbus(host: str, port: int, rate: float) -> None:
    production = Production(
        TagSpec("good", "holding", 0, "uint32"),
        TagSpec("scrap", "holding", 2, "uint32"),
        TagSpec("state", "holding", 4, "uint16"),
        rate=rate,
        scrap_rate=rate / 20,
    )
    machine = ModbusMachine(production=production, host=host, port=port)
    stop = _stop_on_signals()
    await machine.start()
    print(f"Modbus TCP machine on {host}:{machine.port}, unit 1; {PRESS_MAP}", flush=True)
    try:
        await stop.wait()
    finally:
        await machine.stop()


async def opcua(
    port: int | None,
    rate: float,
    security_policy: str | None = None,
    security_mode: Literal["Sign", "SignAndEncrypt"] | None = None,
    cert_dir: Path = Path("var/sim-opcua"),
) -> None:
    machine = OpcUaMachine(1, port=port, rate=rate)
    if security_policy is not None:
        cert_dir.mkdir(parents=True, exist_ok=True)
        machine.certificate, machine.private_key = await make_certificate(
            cert_dir, "server", machine.application_uri, server=True
        )
        machine.security_policy, machine.security_mode = security_policy, security_mode
    stop = _stop_on_signals()
    await machine.start()
    print(
        f"OPC UA machine at {machine.endpoint} (Objects/Machine1: State, GoodCount, "
        "ScrapCount, CycleTime, Alarm)",
        flush=True,
    )
    if security_policy is not None:
        mode = security_mode or "Sign or SignAndEncrypt"
        print(
            f"requires {security_policy} {mode}; server certificate {machine.certificate}",
            flush=True,
        )
    try:
        await stop.wait()
    finally:
        await machine.stop()


async def count(
    rate: float, interval_s: float, bits: int, terminator: bytes, link: Path | None
) -> None:
    station = CountStation(
        rate=rate, scrap_rate=rate / 20, bits=bits, interval_s=interval_s, terminator=terminator
    )
    stop = _stop_on_signals()
    await station.start()
    try:
        if link is not None:
            ptys.link(link, station.device)
        where = f"{link} -> {station.device}" if link else station.device
        print(
            f"count station at {where}: point a serial_counter device's serial_port there;"
            f" it sends {station.message()!r} every {interval_s:g} s",
            flush=True,
        )
        await stop.wait()
    finally:
        if link is not None:
            ptys.unlink(link, station.device)
        await station.stop()


async def plant(config: Path, rate: float) -> None:
    stop = _stop_on_signals()
    await run_plant(config, rate, stop)


def scanner(rate: float, terminator: bytes) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sim = ScannerSimulator(terminator=terminator)
    print(f"serial scanner at {sim.device}: point a [[scanners]] port there", flush=True)
    sent = 0
    while not stop.wait(1.0 / rate):
        sim.send(SAMPLE_SCANS[sent % len(SAMPLE_SCANS)])
        sent += 1
    sim.close()
