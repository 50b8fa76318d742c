"""``floorsync bench opcua``: data changes delivered by OPC UA subscription from simulated machines.

A fleet of simulated machines (``simulators.opcua_fleet``) runs in a subprocess; each
machine has ``--signals`` variables that all take the value of a tick number
``--signal-hz`` times a second, so every data change is identifiable by (machine, signal,
tick). This process runs one ``OpcUaCoordinator`` per machine subscribing to all of its
signals, and counts exactly which changes arrive: ticks after the first one not yet seen
when measuring starts, up to the last one the fleet wrote when told to stop. A change is
due with the first publish after it happened, so at most one publishing interval after
its SourceTimestamp (same machine, same clock); it is late by more than one publishing
interval when it arrives more than two intervals after it (it missed the publish after
the one it was due in). Both shares are printed: past one interval (transport and
processing on top of the wait for the publish) and past two (the target: none).
Exit code 0 when it measured, whether or not the target was met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from edge.devices.base import Reading
from edge.devices.opcua import OpcUaCoordinator, OpcUaTag
from floorsync.bench.common import Say, cpu_seconds, percentile
from floorsync.bench.options import opcua_arguments as add_arguments

TARGET = 5000.0  # data changes/s delivered, all of them, none late


@dataclass
class Tally:
    """What the edge side received, per (machine, signal, tick)."""

    publishing_interval_s: float
    seen: set[tuple[int, int, int]] = field(default_factory=set)
    latest: dict[int, int] = field(default_factory=dict)  # machine -> highest tick received
    latencies: list[tuple[int, int, float]] = field(default_factory=list)  # machine, tick, s
    received: int = 0

    def sink_for(self, machine: int) -> Any:
        def sink(readings: list[Reading]) -> None:
            now = time.time()
            for reading in readings:
                if not isinstance(reading.value, float):
                    continue
                tick, signal = int(reading.value), int(reading.tag)
                key = (machine, signal, tick)
                if key in self.seen:
                    continue  # the initial value again after a reconnect
                self.seen.add(key)
                self.received += 1
                if tick > self.latest.get(machine, -1):
                    self.latest[machine] = tick
                self.latencies.append((machine, tick, now - reading.source_ts.timestamp()))

        return sink


class FleetProcess:
    """The fleet subprocess; its stdout is read all along, so it never blocks on a full pipe."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.latest: dict[str, dict[str, Any]] = {}
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, args: argparse.Namespace, log_path: Path) -> FleetProcess:
        options = ["--machines", str(args.machines), "--signals", str(args.signals)]
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "simulators.opcua_fleet", *options,
                "--signal-hz", str(args.signal_hz),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
            )  # fmt: skip
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while raw := await self.proc.stdout.readline():
            message = orjson.loads(raw)
            async with self._arrived:
                self.latest[message["type"]] = message
                self._arrived.notify_all()
        async with self._arrived:
            self._arrived.notify_all()

    async def wait_for(self, kind: str, timeout: float) -> dict[str, Any]:
        """The next (or already received) message of ``kind``."""

        def arrived() -> bool:
            return kind in self.latest or self._reader.done()

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(arrived), timeout)
        if kind not in self.latest:
            raise RuntimeError(f"the fleet exited ({await self.proc.wait()}) before {kind!r}")
        return self.latest[kind]

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")

    def produced(self) -> int:
        return int(self.latest.get("produced", {}).get("changes", 0))

    async def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the fleet ends at the end of its input
        try:
            await asyncio.wait_for(self.proc.wait(), 15.0)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _coordinators(args: argparse.Namespace, endpoints: list[str]) -> list[OpcUaCoordinator]:
    return [
        OpcUaCoordinator(
            f"machine{n}",
            endpoint=endpoint,
            tags=tuple(
                OpcUaTag(str(i), f"ns=2;s=Machine{n}.Signals.S{i:03d}") for i in range(args.signals)
            ),
            publishing_interval_s=args.publishing_interval,
            sampling_interval_s=args.publishing_interval / 2,
            queue_size=10,  # the server must not merge two changes of one signal
            timeout_s=5.0,
        )
        for n, endpoint in enumerate(endpoints, start=1)
    ]


async def measure(args: argparse.Namespace, say: Say, log_path: Path) -> dict[str, Any]:
    """Start the fleet and the coordinators, measure, and return the raw results."""
    seconds = 5.0 if args.quick else args.seconds
    interval = args.publishing_interval
    tally = Tally(interval)
    tasks: list[asyncio.Task[None]] = []
    fleet = await FleetProcess.start(args, log_path)
    try:
        say(f"starting {args.machines} simulated machines ({args.signals} signals each)")
        ready = await fleet.wait_for("ready", 60.0 + 5.0 * args.machines)
        say(f"fleet ready after {ready['seconds']} s; subscribing")
        coordinators = _coordinators(args, ready["endpoints"])
        tasks = [
            asyncio.create_task(c.run(tally.sink_for(n))) for n, c in enumerate(coordinators, 1)
        ]
        deadline = time.monotonic() + 30.0
        while len(tally.latest) < len(coordinators):
            if time.monotonic() > deadline:
                raise TimeoutError("not every machine delivered within 30 s of subscribing")
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # warm up: the first publishes carry the initial values
        start_ticks, received0, produced0 = dict(tally.latest), tally.received, fleet.produced()
        cpu0, fleet_cpu0 = cpu_seconds(os.getpid()), cpu_seconds(fleet.proc.pid)
        started = time.monotonic()
        say(f"measuring for {seconds:.0f} s")
        while (elapsed := time.monotonic() - started) < seconds:
            await asyncio.sleep(min(2.0, seconds - elapsed))
            took = time.monotonic() - started
            made, got = (fleet.produced() - produced0) / took, (tally.received - received0) / took
            say(f"produced ~{made:6,.0f}/s, delivered {got:6,.0f}/s ({got / TARGET:.0%} of target)")
        fleet.send("stop")
        stopped = await fleet.wait_for("stopped", 30.0)
        window = time.monotonic() - started
        cpu = cpu_seconds(os.getpid()) - cpu0
        fleet_cpu = cpu_seconds(fleet.proc.pid) - fleet_cpu0
        end_ticks = dict(enumerate(stopped["ticks"], start=1))
        # drain: everything written before "stop" arrives within a few publishes
        drain_until = time.monotonic() + max(5.0, 20 * interval)
        while time.monotonic() < drain_until and any(
            tally.latest.get(m, 0) < end for m, end in end_ticks.items()
        ):
            await asyncio.sleep(0.1)
        await asyncio.sleep(3 * interval)
        errors = {c.name: c.health.error_count for c in coordinators if c.health.error_count}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await fleet.close()
    return _results(args, tally, start_ticks, end_ticks, window, cpu, fleet_cpu, errors)


def _results(
    args: argparse.Namespace,
    tally: Tally,
    start_ticks: dict[int, int],
    end_ticks: dict[int, int],
    window: float,
    cpu: float,
    fleet_cpu: float,
    errors: dict[str, int],
) -> dict[str, Any]:
    def counted(machine: int, tick: int) -> bool:
        return start_ticks[machine] < tick <= end_ticks[machine]

    produced = sum(end_ticks[m] - start_ticks[m] for m in end_ticks) * args.signals
    delivered = sum(1 for m, _, tick in tally.seen if counted(m, tick))
    latencies = sorted(s for m, tick, s in tally.latencies if counted(m, tick))
    late = sum(1 for s in latencies if s > args.publishing_interval)
    # a change is due with the next publish; past two intervals it missed its publish
    missed = sum(1 for s in latencies if s > 2 * args.publishing_interval)
    return {
        "machines": args.machines,
        "signals_per_machine": args.signals,
        "publishing_interval_s": args.publishing_interval,
        "window_s": round(window, 2),
        "produced": produced,
        "delivered": delivered,
        "produced_per_s": round(produced / window, 1),
        "delivered_per_s": round(delivered / window, 1),
        "delivered_share": round(delivered / produced, 5) if produced else 0.0,
        "late": late,
        "late_share": round(late / delivered, 5) if delivered else 0.0,
        "later_than_two_intervals": missed,
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_max_ms": round(latencies[-1] * 1000, 1) if latencies else float("nan"),
        "edge_cpu_percent": round(100 * cpu / window, 1),
        "fleet_cpu_percent": round(100 * fleet_cpu / window, 1),
        "coordinator_errors": errors,
        "target_per_s": TARGET,
        "ratio_to_target": round(delivered / window / TARGET, 3),
        "loadavg_end": os.getloadavg(),
    }


def _print(r: dict[str, Any]) -> None:
    rows = [
        ("produced by the simulators", f"{r['produced_per_s']:,.0f} /s", f"{r['produced']:,}"),
        ("delivered by subscription", f"{r['delivered_per_s']:,.0f} /s", f"{r['delivered']:,}"),
        ("share delivered", f"{r['delivered_share']:.2%}", "target 100 %"),
        ("later than 1 publishing interval", f"{r['late']:,}", f"{r['late_share']:.1%}"),
        ("later than 2 publishing intervals", f"{r['later_than_two_intervals']:,}",
         "target 0: " + ("PASS" if r["later_than_two_intervals"] == 0 else "MISS")),
        ("latency p50 / p99 / max", f"{r['latency_p50_ms']} / {r['latency_p99_ms']} ms",
         f"max {r['latency_max_ms']} ms"),
        ("edge / fleet CPU", f"{r['edge_cpu_percent']} % / {r['fleet_cpu_percent']} %",
         "of one core"),
        ("ratio to target", f"{r['ratio_to_target']:.2f}", f"{TARGET:,.0f} changes/s"),
    ]  # fmt: skip
    print()
    for name, value, note in rows:
        print(f"  {name:<32} {value:>22}   {note}")
    if r["coordinator_errors"]:
        print(f"  coordinator errors: {r['coordinator_errors']}")
    print(f"\n  load average at the end: {r['loadavg_end']}; figures drift with load")


def main(args: argparse.Namespace) -> int:
    """Run the bench; 0 when it measured, 1 when it could not."""
    say = Say()
    # asyncua logs every publish at INFO: formatting those would be the benchmark
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="floorsync-bench-opcua-") as tmp:
        log_path = Path(tmp) / "fleet.log"
        try:
            results = asyncio.run(measure(args, say, log_path))
        except (RuntimeError, TimeoutError, OSError) as exc:
            print(f"bench opcua failed: {exc}", file=sys.stderr)
            with contextlib.suppress(OSError):
                print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            return 1
    _print(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m floorsync.bench.opcua", description=__doc__)
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
