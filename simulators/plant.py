"""``floorsync sim plant``: the machines an edge's own config names, simulated on their ports.

Each Modbus TCP device of the config becomes a ModbusMachine on its host and port,
with its tags in place; a station's good / scrap counters and state tag on it become
the machine's piece counters and state word, so the line produces as a real one
would. The simulator reads the config as plain TOML: it knows nothing of the edge.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from pathlib import Path
from typing import Any

from protocols.modbus import TagSpec
from simulators.modbus import ModbusMachine, Production

log = logging.getLogger(__name__)


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


def machines_for(config: dict[str, Any], rate: float) -> list[ModbusMachine]:
    """A simulated machine per Modbus TCP device of an edge config."""
    roles: dict[str, dict[str, str]] = {}  # device -> role -> tag
    for station in config.get("stations", []):
        signals = {
            "good": station.get("good_counter"),
            "scrap": station.get("scrap_counter"),
            "state": (station.get("state") or {}).get("tag"),
        }
        for role, signal in signals.items():
            if signal:
                device, tag = signal.split(".", 1)
                roles.setdefault(device, {})[role] = tag
    machines = []
    for device in config.get("devices", []):
        if device.get("kind") != "modbus_tcp":
            log.warning(
                "not simulated", extra={"device": device.get("name"), "kind": device.get("kind")}
            )
            continue
        specs = {t["name"]: _spec(t) for t in device.get("tags", [])}
        used = roles.get(device["name"], {})
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
        machines.append(
            ModbusMachine(
                others,
                production=production,
                unit=device.get("unit", 1),
                host=device["host"],
                port=device["port"],
            )
        )
    return machines


async def run_plant(config_path: Path, rate: float, stop: asyncio.Event) -> None:
    config = tomllib.loads(config_path.read_text())
    machines = machines_for(config, rate)
    for machine in machines:
        await machine.start()
        log.info("machine simulated", extra={"host": machine.host, "port": machine.port})
    print(f"simulating {len(machines)} machine(s) from {config_path}; Ctrl-C stops", flush=True)
    try:
        await stop.wait()
    finally:
        for machine in machines:
            await machine.stop()
