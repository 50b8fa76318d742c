"""``bench modbus``: simulated Modbus TCP machines polled by the edge's coordinators.

The machines run in a child process (``simulators.modbus_fleet``); the coordinators
poll them from this process, one asyncio task each, so this process's CPU time is the
edge's cost. Target: 10,000 tags/s (100 devices x 100 tags at 1 s) with the edge under
50 % of one core. Baseline, in the same run: one raw pymodbus client reading the same
blocks of one machine back to back, with no decoding, for the cost of a tag on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pymodbus.client import AsyncModbusTcpClient

from edge.devices.base import Reading
from edge.devices.modbus import ModbusCoordinator, ModbusTcp
from floorsync.bench.common import cpu_seconds
from floorsync.bench.options import modbus_arguments as add_arguments
from floorsync.bench.processes import BenchError, Processes, tail
from floorsync.bench.report import Figure, table
from simulators.modbus_fleet import fleet_tags

TARGET_TAGS_PER_S = 10_000.0
TARGET_CPU_SHARE = 0.5
LATE_BY_S = 0.1  # a poll more than this after its slot is late


@dataclass
class Tally:
    """What the coordinators delivered, counted by their sink."""

    interval: float
    tags: int = 0
    bad: int = 0
    polls: int = 0
    late: int = 0
    worst_gap: float = 0.0
    counting: bool = False  # lateness counts only inside the measured window
    last: dict[str, float] = field(default_factory=dict)

    def sink(self, readings: list[Reading]) -> None:
        now = time.monotonic()
        device = readings[0].device
        previous = self.last.get(device)
        self.last[device] = now
        self.tags += len(readings)
        self.bad += sum(r.quality != "good" for r in readings)
        self.polls += 1
        if previous is not None and self.counting:
            gap = now - previous
            self.worst_gap = max(self.worst_gap, gap)
            self.late += gap > self.interval + LATE_BY_S


def main(args: argparse.Namespace) -> int:
    """Run the bench, print the figures; 0 when it measured (targets met or not)."""
    say = _Say()
    try:
        with Processes() as procs, tempfile.TemporaryDirectory(prefix="floorsync-bench-") as tmp:
            ports, fleet = _start_fleet(procs, Path(tmp), args, say)
            results = asyncio.run(_measure(ports, fleet.pid, args, say))
    except BenchError as exc:
        print(f"bench modbus failed: {exc}", file=sys.stderr, flush=True)
        return 1
    figs = _figures(results)
    print()
    print(table(figs))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {"figures": {k: vars(f) for k, f in figs.items()}, "results": results}
        args.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        print(f"wrote {args.json}")
    return 0


class _Say:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {msg}", flush=True)


def _start_fleet(
    procs: Processes, work: Path, args: argparse.Namespace, say: _Say
) -> tuple[list[int], subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "simulators.modbus_fleet"]
    cmd += ["--devices", str(args.devices), "--tags", str(args.tags), "--base-port", "0"]
    log = work / "fleet.log"
    proc = procs.start(cmd, log, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            line = proc.stdout.readline()
            if not line:
                break
            ports: list[int] = orjson.loads(line)["ports"]
            say(f"fleet of {len(ports)} machines x {args.tags} tags up (pid {proc.pid})")
            return ports, proc
    raise BenchError(f"the Modbus fleet did not start:\n{tail(log)}")


async def _baseline(port: int, coordinator: ModbusCoordinator, seconds: float) -> dict[str, Any]:
    """One raw pymodbus client reading the same blocks back to back, no decoding."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, reconnect_delay=0)
    if not await client.connect():
        raise BenchError(f"raw client cannot connect to port {port}")
    readers = {
        "holding": client.read_holding_registers,
        "input": client.read_input_registers,
        "coil": client.read_coils,
        "discrete": client.read_discrete_inputs,
    }
    requests = tags = 0
    cpu0, wall0 = time.process_time(), time.monotonic()
    try:
        while time.monotonic() - wall0 < seconds:
            for block in coordinator.blocks:
                await readers[block.table](block.start, count=block.count, device_id=1)
                requests += 1
                tags += len(block.tags)
    finally:
        client.close()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return {
        "requests_per_s": requests / wall,
        "tags_per_s": tags / wall,
        "cpu_us_per_tag": 1e6 * cpu / tags,
        "blocks": len(coordinator.blocks),
    }


@dataclass(frozen=True)
class _Snapshot:
    wall: float
    cpu: float
    fleet_cpu: float
    tags: int
    polls: int
    requests: int

    @classmethod
    def take(cls, tally: Tally, devices: list[ModbusCoordinator], fleet_pid: int) -> _Snapshot:
        return cls(
            time.monotonic(),
            time.process_time(),
            cpu_seconds(fleet_pid),
            tally.tags,
            tally.polls,
            sum(d.requests for d in devices),
        )


async def _measure(
    ports: list[int], fleet_pid: int, args: argparse.Namespace, say: _Say
) -> dict[str, Any]:
    specs = [spec for spec, _ in fleet_tags(args.tags)]
    devices = [
        ModbusCoordinator(
            f"machine-{i:03d}",
            link=ModbusTcp("127.0.0.1", port),
            tags=specs,
            interval_s=args.interval,
            timeout_s=1.0,
        )
        for i, port in enumerate(ports)
    ]
    blocks = len(devices[0].blocks)
    say(f"baseline: raw pymodbus, {blocks} block reads a pass, {args.baseline_seconds:g} s")
    baseline = await _baseline(ports[0], devices[0], args.baseline_seconds)
    say(
        f"  {baseline['tags_per_s']:,.0f} tags/s, {baseline['requests_per_s']:,.0f} requests/s,"
        f" {baseline['cpu_us_per_tag']:.1f} us CPU per tag"
    )
    tally = Tally(args.interval)

    async def run_one(index: int, device: ModbusCoordinator) -> None:
        # Spread the polls over the interval, as an edge with many devices should.
        await asyncio.sleep(index * args.interval / len(devices))
        await device.run(tally.sink)

    say(f"edge: {len(devices)} coordinators x {args.tags} tags every {args.interval:g} s")
    tasks = [asyncio.create_task(run_one(i, d)) for i, d in enumerate(devices)]
    try:
        await asyncio.sleep(args.warmup)
        tally.counting = True
        start = last = _Snapshot.take(tally, devices, fleet_pid)
        while (left := args.seconds - (time.monotonic() - start.wall)) > 0:
            await asyncio.sleep(min(5.0, left))
            now = _Snapshot.take(tally, devices, fleet_pid)
            span = now.wall - last.wall
            say(
                f"  {now.wall - start.wall:5.1f} s: {(now.tags - last.tags) / span:,.0f} tags/s,"
                f" edge CPU {(now.cpu - last.cpu) / span:.0%}, late polls {tally.late}"
            )
            last = now
        errors = sum(d.health.error_count for d in devices)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    wall, tags = last.wall - start.wall, last.tags - start.tags
    return {
        "devices": len(devices),
        "tags_per_device": args.tags,
        "blocks_per_device": blocks,
        "interval_s": args.interval,
        "window_s": wall,
        "tags_per_s": tags / wall,
        "polls_per_s": (last.polls - start.polls) / wall,
        "requests_per_s": (last.requests - start.requests) / wall,
        "edge_cpu_share": (last.cpu - start.cpu) / wall,
        "edge_cpu_us_per_tag": 1e6 * (last.cpu - start.cpu) / max(1, tags),
        "fleet_cpu_share": (last.fleet_cpu - start.fleet_cpu) / wall,
        "late_polls": tally.late,
        "worst_gap_s": tally.worst_gap,
        "bad_readings": tally.bad,
        "device_errors": errors,
        "baseline": baseline,
        "loadavg": os.getloadavg(),
    }


def _figures(r: dict[str, Any]) -> dict[str, Figure]:
    base = r["baseline"]
    cpu_ratio = r["edge_cpu_us_per_tag"] / base["cpu_us_per_tag"]
    figs = [
        Figure(
            "raw pymodbus, same blocks, back to back",
            base["tags_per_s"],
            "tags/s",
            ratio=1.0,
            ratio_of="raw",
        ),
        Figure("raw pymodbus CPU per tag", base["cpu_us_per_tag"], "us", ratio=1.0, ratio_of="raw"),
        Figure(
            f"edge: {r['devices']} devices x {r['tags_per_device']} tags @ {r['interval_s']:g} s",
            r["tags_per_s"],
            "tags/s",
            f">= {TARGET_TAGS_PER_S:,.0f}",
            r["tags_per_s"] / base["tags_per_s"],
            "raw",
            r["tags_per_s"] >= 0.99 * TARGET_TAGS_PER_S,
        ),
        Figure(
            "edge process CPU share of one core",
            r["edge_cpu_share"],
            "x",
            f"< {TARGET_CPU_SHARE:g}",
            None,
            "",
            r["edge_cpu_share"] < TARGET_CPU_SHARE,
        ),
        Figure(
            "edge CPU per tag (poll + decode + reading)",
            r["edge_cpu_us_per_tag"],
            "us",
            ratio=cpu_ratio,
            ratio_of="raw",
        ),
        Figure(
            "late polls (> interval + 100 ms)",
            r["late_polls"],
            "polls",
            "== 0",
            passed=r["late_polls"] == 0,
        ),
        Figure("worst gap between two polls", r["worst_gap_s"] * 1000, "ms"),
        Figure(
            "device errors / bad readings",
            r["device_errors"] + r["bad_readings"],
            "events",
            "== 0",
            passed=r["device_errors"] + r["bad_readings"] == 0,
        ),
        Figure("simulator process CPU share", r["fleet_cpu_share"], "x"),
    ]
    return {f.name: f for f in figs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m floorsync.bench.modbus", description=__doc__)
    add_arguments(parser)
    logging.basicConfig(level=logging.WARNING)
    # The coordinators log device errors once; pymodbus would log every lost reply too.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(parser.parse_args()))
