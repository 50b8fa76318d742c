"""Many simulated OPC UA machines in one process: the producer side of ``floorsync bench opcua``.

    python -m simulators.opcua_fleet --machines 10 --signals 100 --signal-hz 5

Writes JSON lines to stdout: ``ready`` (with the endpoints) once every machine serves,
then ``produced`` (data changes written so far) every second. Reads commands from stdin:
``stop`` stops the signals and answers ``stopped`` with the last tick of each machine;
end of input ends the process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import time
from typing import Any

from simulators.opcua import OpcUaMachine

__all__ = ["Fleet", "main"]


def emit(kind: str, **fields: Any) -> None:
    """One JSON line on stdout for whoever started this process."""
    sys.stdout.write(json.dumps({"type": kind, **fields}) + "\n")
    sys.stdout.flush()


class Fleet:
    """``count`` machines, numbered from 1, each on its own port."""

    def __init__(self, count: int, **machine: Any) -> None:
        self.machines = [OpcUaMachine(n, **machine) for n in range(1, count + 1)]

    @property
    def endpoints(self) -> list[str]:
        return [machine.endpoint for machine in self.machines]

    @property
    def changes(self) -> int:
        return sum(machine.changes for machine in self.machines)

    async def start(self) -> None:
        for machine in self.machines:  # one at a time: building an address space is CPU-bound
            await machine.start()

    async def stop_signals(self) -> list[int]:
        return [await machine.stop_signals() for machine in self.machines]

    async def stop(self) -> None:
        for machine in self.machines:
            await machine.stop()


async def _commands(queue: asyncio.Queue[str | None]) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        await queue.put(line.decode().strip())
    await queue.put(None)


async def serve(args: argparse.Namespace) -> None:
    """Run the fleet until stdin closes."""
    fleet = Fleet(args.machines, rate=args.rate, signals=args.signals, signal_hz=args.signal_hz)
    started = time.monotonic()
    await fleet.start()
    emit("ready", endpoints=fleet.endpoints, seconds=round(time.monotonic() - started, 2))
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    reader = asyncio.create_task(_commands(queue))
    try:
        while True:
            try:
                command = await asyncio.wait_for(queue.get(), 1.0)
            except TimeoutError:
                emit("produced", changes=fleet.changes, t=time.time())
                continue
            if command is None:
                break
            if command == "stop":
                ticks = await fleet.stop_signals()
                emit("stopped", ticks=ticks, changes=fleet.changes, t=time.time())
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await fleet.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.opcua_fleet", description=__doc__)
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--signals", type=int, default=100, help="changing variables per machine")
    parser.add_argument(
        "--signal-hz", type=float, default=5.0, help="changes per signal per second"
    )
    parser.add_argument("--rate", type=float, default=1.0, help="pieces per second per machine")
    args = parser.parse_args(argv)
    # asyncua logs every connection at INFO and expected disconnects at WARNING
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
