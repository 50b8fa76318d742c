"""Many simulated Modbus TCP machines in one process, for load tests and the Modbus bench.

    python -m simulators.modbus_fleet --devices 100 --tags 100 --base-port 0

prints one JSON line ``{"type": "ready", "ports": [...]}`` once every machine listens
(``--base-port 0``: free ports; otherwise consecutive ports from it), then serves until
SIGTERM, SIGINT or, when stdin is a pipe, its end (the process that started it is gone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import stat
import sys

from protocols.modbus import ByteOrder, DataType, Table, TagSpec, Value
from simulators.modbus import ModbusMachine

__all__ = ["fleet_tags", "main"]

# One machine's tag mix, repeated: what a press or moulding machine exposes.
_PATTERN: tuple[tuple[Table, DataType, ByteOrder, Value], ...] = (
    ("holding", "uint16", "ABCD", 1200),
    ("holding", "int16", "ABCD", -40),
    ("holding", "int32", "ABCD", -70_000),
    ("holding", "uint32", "CDAB", 3_000_000),
    ("holding", "float32", "ABCD", 21.5),
    ("input", "float32", "DCBA", 180.25),
    ("input", "float64", "BADC", 0.125),
    ("input", "uint16", "BADC", 7),
    ("coil", "bool", "ABCD", True),
    ("discrete", "bool", "ABCD", False),
)


def fleet_tags(count: int) -> list[tuple[TagSpec, Value]]:
    """``count`` tags with their values, packed per table from address 0."""
    next_address: dict[Table, int] = {"holding": 0, "input": 0, "coil": 0, "discrete": 0}
    tags: list[tuple[TagSpec, Value]] = []
    for i in range(count):
        table, data_type, order, value = _PATTERN[i % len(_PATTERN)]
        spec = TagSpec(f"tag-{i:03d}", table, next_address[table], data_type, order)
        next_address[table] = spec.end
        tags.append((spec, value))
    return tags


async def serve(devices: int, tags: int, host: str, base_port: int) -> None:
    """Start the machines, announce their ports, serve until told to stop."""
    table = fleet_tags(tags)
    machines = [
        ModbusMachine(table, host=host, port=base_port + i if base_port else 0)
        for i in range(devices)
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Started with a pipe on stdin (by the bench): its end means the parent is gone.
    watch_stdin = stat.S_ISFIFO(os.fstat(0).st_mode)
    if watch_stdin:
        loop.add_reader(0, lambda: None if os.read(0, 4096) else stop.set())
    try:
        for machine in machines:
            await machine.start()
        print(json.dumps({"type": "ready", "ports": [m.port for m in machines]}), flush=True)
        await stop.wait()
    finally:
        if watch_stdin:
            loop.remove_reader(0)
        for machine in machines:
            await machine.stop()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m simulators.modbus_fleet")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--tags", type=int, default=100, help="tags per device")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--base-port", type=int, default=0, help="0: free ports")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.devices, args.tags, args.host, args.base_port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
