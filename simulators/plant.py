"""``floorsync sim plant``: the devices an edge's own config names, simulated where it looks.

* ``modbus_tcp``: a ModbusMachine on the device's host and port, with its tags in place.
  A station's good / scrap counters and state tag on it become the machine's piece
  counters and state word, so the line produces as a real one would.
* ``modbus_rtu``: the same machine on a pseudo-terminal.
* ``opcua``: an OpcUaMachine on the endpoint's port (127.0.0.1 only), ``Machine<N>`` as
  the tags' node ids name it (``ns=2;s=Machine1.GoodCount``), with the configured user.
* ``serial_counter``: a CountStation on a pseudo-terminal, sending the default message
  format at the station's counter width.
* ``[[scanners]]``: a ScannerSimulator on a pseudo-terminal, a sample scan every few
  seconds.

A serial port of the config (``serial_port``, a scanner's ``port``) becomes a symbolic
link to the simulator's pty, made at start and removed at stop; relative paths are
relative to the directory the command runs in, as they are for the edge. The simulator
reads the config as plain TOML: it knows nothing of the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from protocols.count_message import DEFAULT_PATTERN, MessageError, compile_pattern, parse
from protocols.modbus import TagSpec
from protocols.serial_lines import TERMINATORS
from simulators import ptys
from simulators.count_station import CountStation
from simulators.modbus import ModbusMachine, Production
from simulators.opcua import OpcUaMachine
from simulators.scanner import SAMPLE_SCANS, ScannerSimulator

__all__ = ["PlantError", "SimulatedDevice", "devices_for", "run_plant"]

log = logging.getLogger(__name__)

SCAN_INTERVAL_S = 5.0
MESSAGE_INTERVAL_S = 0.5


class PlantError(Exception):
    """The plant cannot be simulated as configured; the message says why."""


class Simulator(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ScannerFeed:
    """A scanner on a pty that scans the samples in turn, one every ``interval_s``."""

    def __init__(self, terminator: bytes, interval_s: float = SCAN_INTERVAL_S) -> None:
        self.scanner = ScannerSimulator(terminator=terminator)
        self.device = self.scanner.device
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._scan())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.scanner.close()

    async def _scan(self) -> None:
        for sent in itertools.count():
            await asyncio.sleep(self.interval_s)
            self.scanner.send(SAMPLE_SCANS[sent % len(SAMPLE_SCANS)])


@dataclass
class SimulatedDevice:
    """One device of the config and the simulator standing in for it."""

    name: str
    kind: str
    simulator: Simulator
    link: Path | None = None  # the configured serial port: made a link to the pty

    async def start(self) -> None:
        try:
            await self.simulator.start()
        except OSError as exc:  # e.g. the port is taken
            raise PlantError(f"{self.name}: cannot start its simulator: {exc}") from exc
        if self.link is not None:
            try:
                ptys.link(self.link, self._device())
            except OSError as exc:
                await self.simulator.stop()
                raise PlantError(f"{self.name}: cannot make {self.link} its port: {exc}") from exc

    async def stop(self) -> None:
        if self.link is not None:
            ptys.unlink(self.link, self._device())
        await self.simulator.stop()

    def where(self) -> str:
        sim = self.simulator
        if self.link is not None:
            return f"{self.link} -> {self._device()}"
        if isinstance(sim, ModbusMachine):
            return f"{sim.host}:{sim.port}"
        if isinstance(sim, OpcUaMachine):
            return sim.endpoint
        return ""

    def _device(self) -> str:
        device: str = getattr(self.simulator, "device", "")
        return device


def _spec(tag: dict[str, Any]) -> TagSpec:
    return TagSpec(
        tag["name"],
        tag.get("table", "holding"),
        tag["address"],
        tag["type"],
        tag.get("byte_order", "ABCD"),
        tag.get("scale", 1.0),
        tag.get("offset", 0.0),
        tag.get("length"),
    )


def _roles(stations: Iterable[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """device -> role (good, scrap, state) -> tag, from the stations' signals."""
    roles: dict[str, dict[str, str]] = {}
    for station in stations:
        signals = {
            "good": station.get("good_counter"),
            "scrap": station.get("scrap_counter"),
            "state": (station.get("state") or {}).get("tag"),
        }
        for role, signal in signals.items():
            if signal:
                device, tag = signal.split(".", 1)
                roles.setdefault(device, {})[role] = tag
    return roles


def _counter_bits(stations: Iterable[dict[str, Any]], device: str) -> int:
    for station in stations:
        for signal in (station.get("good_counter"), station.get("scrap_counter")):
            if signal and signal.split(".", 1)[0] == device:
                return int(station.get("counter_bits", 32))
    return 32


def _skip(device: dict[str, Any], why: str) -> None:
    log.warning("not simulated", extra={"device": device.get("name"), "reason": why})


def _serial_path(device: dict[str, Any], key: str) -> Path | None:
    """Where to link the pty of a serial device; None for a pyserial URL (no file)."""
    port = str(device.get(key, ""))
    if device.get("parity", "N") not in ("N", "none"):
        # the edge's settings would be refused by the pty: say so rather than fail quietly
        log.warning(
            "a pty takes no parity: set parity to none for the simulated line",
            extra={"device": device.get("name"), "parity": device.get("parity")},
        )
    return None if "://" in port or not port else Path(port)


def _modbus(device: dict[str, Any], used: dict[str, str], rate: float) -> ModbusMachine:
    specs = {t["name"]: _spec(t) for t in device.get("tags", [])}
    production = None
    if "good" in used:
        production = Production(
            good=specs.pop(used["good"]),
            scrap=specs.pop(used["scrap"]) if "scrap" in used else None,
            state=specs.pop(used["state"]) if "state" in used else None,
            rate=rate,
            scrap_rate=rate / 20,
        )
    others = [(spec, "" if spec.data_type == "string" else 0) for spec in specs.values()]
    if device["kind"] == "modbus_rtu":
        return ModbusMachine(
            others, production=production, unit=device.get("unit", 1), transport="rtu"
        )
    return ModbusMachine(
        others,
        production=production,
        unit=device.get("unit", 1),
        host=device["host"],
        port=device["port"],
    )


def _opcua(device: dict[str, Any], rate: float) -> OpcUaMachine | str:
    """The machine, or why there is none."""
    endpoint = urlsplit(device["endpoint"])
    if endpoint.hostname not in ("127.0.0.1", "localhost"):
        return f"endpoint host {endpoint.hostname} is not this computer"
    if device.get("security", "None") != "None":
        return "OPC UA security is not simulated"
    numbers = {
        int(m.group(1))
        for t in device.get("tags", [])
        if (m := re.search(r"Machine(\d+)", str(t.get("node", ""))))
    }
    username = device.get("username")
    return OpcUaMachine(
        min(numbers, default=1),
        port=endpoint.port or 4840,
        rate=rate,
        scrap_share=0.05,
        users={username: device.get("password") or ""} if username else None,
    )


def devices_for(
    config: dict[str, Any], rate: float, into: list[SimulatedDevice] | None = None
) -> list[SimulatedDevice]:
    """A simulator per device and serial scanner of an edge config, not yet started (each
    appended to ``into`` as it is made: a made one may hold a pty already)."""
    stations = config.get("stations", [])
    roles = _roles(stations)
    made: list[SimulatedDevice] = [] if into is None else into
    for device in config.get("devices", []):
        name, kind = device.get("name", "?"), device.get("kind")
        if kind in ("modbus_tcp", "modbus_rtu"):
            machine = _modbus(device, roles.get(name, {}), rate)
            link = _serial_path(device, "serial_port") if kind == "modbus_rtu" else None
            if kind == "modbus_rtu" and link is None:
                _skip(device, "serial_port is no file path")
                continue
            made.append(SimulatedDevice(name, kind, machine, link))
        elif kind == "opcua":
            opcua = _opcua(device, rate)
            if isinstance(opcua, str):
                _skip(device, opcua)
                continue
            made.append(SimulatedDevice(name, kind, opcua))
        elif kind == "serial_counter":
            link = _serial_path(device, "serial_port")
            pattern = compile_pattern(device.get("pattern", DEFAULT_PATTERN))
            try:
                parse(pattern, "good=1;scrap=2")
            except MessageError:
                _skip(device, "its pattern does not read the simulator's good=<n>;scrap=<n>")
                continue
            if link is None:
                _skip(device, "serial_port is no file path")
                continue
            station = CountStation(
                rate=rate,
                scrap_rate=rate / 20,
                bits=_counter_bits(stations, name),
                interval_s=MESSAGE_INTERVAL_S,
                terminator=TERMINATORS[device.get("terminator", "CR")],
            )
            made.append(SimulatedDevice(name, kind, station, link))
        else:
            _skip(device, f"unknown kind {kind!r}")
    for scanner in config.get("scanners", []):
        link = _serial_path(scanner, "port")
        if link is None:
            _skip(scanner, "port is no file path")
            continue
        feed = ScannerFeed(TERMINATORS[scanner.get("terminator", "CR")])
        made.append(SimulatedDevice(scanner["name"], "scanner", feed, link))
    return made


async def run_plant(config_path: Path, rate: float, stop: asyncio.Event) -> None:
    """Simulate the config's devices until ``stop`` is set; everything made is removed."""
    config = tomllib.loads(config_path.read_text())
    devices: list[SimulatedDevice] = []
    try:
        try:
            devices_for(config, rate, devices)
        except (KeyError, TypeError, ValueError) as exc:
            raise PlantError(
                f"{config_path}: cannot simulate: {type(exc).__name__}: {exc}"
            ) from None
        for device in devices:
            await device.start()
            log.info("device simulated", extra={"device": device.name, "where": device.where()})
        print(f"simulating {len(devices)} device(s) from {config_path}; Ctrl-C stops", flush=True)
        for device in devices:
            print(f"  {device.name} ({device.kind}): {device.where()}", flush=True)
        await stop.wait()
    finally:
        # started or not: a simulator not started yet may hold a pty already; one that
        # fails to stop must not leave the others' links and ptys behind
        for device in reversed(devices):
            try:
                await device.stop()
            except Exception:
                log.exception("simulator did not stop cleanly", extra={"device": device.name})
