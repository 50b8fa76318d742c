"""``floorsync bench sync``: FloorSync's sync pipeline next to the raw ceilings of this machine.

In one run, against a Mosquitto of its own:

1. transport ceiling: raw paho QoS 1, one 200-byte message per event, publish -> subscriber;
2. storage ceiling: raw sqlite3, WAL, synchronous=FULL, one 200-byte row per commit;
3. durable end-to-end rate: concurrent producers append to the edge outbox (each append
   durable), the uplink sends, central (a real ``floorsync central``) commits and acks;
   time from the first append until the outbox is empty;
4. latency at a steady 1,000 events/s: edge commit -> central's ack back at the edge;
5. backlog drain: a backlog appended while the edge is offline, drained after it connects
   while live events keep coming; the edge worker's RSS sampled throughout; then central
   is checked to hold every event of every edge exactly once.

The edge side runs in a worker process (``edge_worker``) so its RSS is its own. Figures
drift between machines: compare the ratios. The exit code is 0 when the bench measured,
whether or not targets were met; non-zero only when it could not measure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from floorsync.bench import ceilings, report
from floorsync.bench.common import Say, interrupt, work_dir
from floorsync.bench.processes import (
    BenchError,
    Central,
    Processes,
    Worker,
    find_mosquitto,
    start_mosquitto,
)

DEFAULTS = {"events": 200_000, "backlog": 1_000_000, "latency_seconds": 20.0}
QUICK = {"events": 20_000, "backlog": 50_000, "latency_seconds": 5.0}
# An edge records from a few threads (its HTTP loop, its device loop, its scanners), each
# with many requests open at once; 16 threads mostly measured Python's GIL hand-offs.
PRODUCERS = 4
LIVE_RATE = 1000.0  # events/s for the latency stage and the live traffic during the drain


@dataclass(frozen=True)
class Sizes:
    events: int
    backlog: int
    latency_seconds: float
    transport_messages: int
    storage_rows: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        """``--quick`` shrinks the sizes still at their defaults; explicit sizes win."""
        chosen = {
            name: QUICK[name]
            if args.quick and getattr(args, name) == default
            else getattr(args, name)
            for name, default in DEFAULTS.items()
        }
        events = int(chosen["events"])
        if events < 1 or int(chosen["backlog"]) < 1 or chosen["latency_seconds"] <= 0:
            raise BenchError("--events, --backlog and --latency-seconds must be positive")
        return cls(
            events=events,
            backlog=int(chosen["backlog"]),
            latency_seconds=float(chosen["latency_seconds"]),
            transport_messages=min(events, 100_000),
            storage_rows=max(1000, min(events // 4, 50_000)),
        )


def main(args: argparse.Namespace) -> int:
    say = Say()
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        sizes = Sizes.from_args(args)
        with work_dir(args.work_dir, "floorsync-bench-") as work, Processes() as procs:
            results = run(procs, work, sizes, args, say)
    except KeyboardInterrupt:
        print("bench sync interrupted; its processes are stopped", file=sys.stderr, flush=True)
        raise
    except BenchError as exc:
        print(f"bench sync failed: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception:
        print(f"bench sync failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    figs = report.figures(results)
    print()
    print(report.table(figs))
    print(
        "\nfigures drift between machines and with load: compare ratios from one run"
        f" (load average at the end {results['machine']['loadavg_end']})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = report.as_json(figs, results)
        args.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        print(f"wrote {args.json}")
    return 0


def run(
    procs: Processes, work: Path, sizes: Sizes, args: argparse.Namespace, say: Say
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "sizes": {**sizes.__dict__, "live_rate": LIVE_RATE},
        "machine": {"cpus": os.cpu_count(), "loadavg_start": _loadavg()},
    }
    say(
        f"bench sync: events {sizes.events:,}, backlog {sizes.backlog:,}, "
        f"latency {sizes.latency_seconds:g} s; work dir {work}; "
        f"{os.cpu_count()} cpus, load {_loadavg()}"
    )
    binary = find_mosquitto(args.mosquitto)
    broker, mosquitto = start_mosquitto(procs, binary, work)
    watch = {"mosquitto": mosquitto.pid}
    say(f"mosquitto {binary} on {broker}")

    with _stage(say, f"1/5 transport ceiling: {sizes.transport_messages:,} x 200 B, paho QoS 1"):
        t = ceilings.transport(procs, work, broker, sizes.transport_messages, say, watch)
        say(
            f"  {t['rate']:,.0f} msg/s pub -> sub "
            f"(publish {t['publish_rate']:,.0f}/s) cpu% {t['cpu_pct']}"
        )
    results["transport"] = t

    title = f"2/5 storage ceiling: {sizes.storage_rows:,} commits of one 200 B row (<= 15 s)"
    with _stage(say, title):
        s = ceilings.storage(work, sizes.storage_rows, say)
        say(f"  {s['rate']:,.0f} rows/s")
    results["storage"] = s

    say("starting central (floorsync central, SQLite)")
    central = Central(procs, work, broker)
    watch["central"] = central.proc.pid
    say(f"central up at {central.url}")

    with _stage(say, f"3/5 durable end to end: {sizes.events:,} events, {PRODUCERS} producers"):
        d = _edge_stage(
            procs,
            work,
            say,
            watch,
            central,
            "durable",
            ["--events", str(sizes.events), "--producers", str(PRODUCERS), "--window", "256"],
            timeout=300 + sizes.events / 500,
        )
        say(f"  {_cpu(d)}")
        say(
            f"  {d['rate']:,.0f} ev/s end to end in {d['seconds']:.1f} s "
            f"(appends {d['append_rate']:,.0f}/s, {d['edge_commits']:,} edge commits, "
            f"{d['batches_sent']:,} batches, resends {d['resends']})"
        )
    results["durable"] = d

    with _stage(say, f"4/5 latency at {LIVE_RATE:,.0f} ev/s for {sizes.latency_seconds:g} s"):
        lat = _edge_stage(
            procs,
            work,
            say,
            watch,
            central,
            "latency",
            ["--rate", str(LIVE_RATE), "--seconds", str(sizes.latency_seconds)],
            timeout=180 + sizes.latency_seconds,
        )
        say(
            f"  commit -> ack p50 {lat['ack_p50_ms']:.1f} ms p99 {lat['ack_p99_ms']:.1f} ms "
            f"max {lat['ack_max_ms']:.1f} ms over {lat['events']:,} events; "
            f"append p99 {lat['append_p99_ms']:.1f} ms; {_cpu(lat)}"
        )
    results["latency"] = lat

    with _stage(say, f"5/5 backlog: {sizes.backlog:,} events offline, then drain + live"):
        b = _edge_stage(
            procs,
            work,
            say,
            watch,
            central,
            "backlog",
            [
                "--events",
                str(sizes.backlog),
                "--producers",
                "2",
                "--window",
                "2000",
                "--rate",
                str(LIVE_RATE),
            ],
            timeout=900 + sizes.backlog / 200,
        )
        say(
            f"  drained {b['drained_events']:,} in {b['seconds']:.1f} s = {b['rate']:,.0f} ev/s; "
            f"rss MiB: after fill {b['rss_after_fill_mib']:.0f}, drain start "
            f"{b['rss_drain_start_mib']:.0f}, drain peak {b['rss_drain_peak_mib']:.0f}, "
            f"peak {b['rss_peak_mib']:.0f}; live append p99 {b['live_append_p99_ms']:.1f} ms; "
            f"{_cpu(b)}"
        )
    results["backlog"] = b

    with _stage(say, "verification: central holds every event of every edge exactly once"):
        expected = {r["edge_id"]: r["last_seq"] for r in (d, lat, b)}
        v = verify(central, expected)
        say(
            f"  lost={v['lost']} dup={v['duplicates']} dead_letters={v['dead_letters']} "
            f"{v['edges']}"
        )
    results["verification"] = v
    results["machine"]["loadavg_end"] = _loadavg()
    return results


@contextlib.contextmanager
def _stage(say: Say, title: str) -> Iterator[None]:
    say(f"stage {title}")
    started = time.monotonic()
    yield
    say(f"stage {title.split(':')[0]} done in {time.monotonic() - started:.1f} s")


def _edge_stage(
    procs: Processes,
    work: Path,
    say: Say,
    watch: dict[str, int],
    central: Central,
    mode: str,
    extra: list[str],
    timeout: float,
) -> dict[str, Any]:
    """Run the edge worker in ``mode``; its result with CPU use and central's ingest share."""
    before = central.metrics()
    worker = Worker(
        procs,
        "edge_worker",
        [
            mode,
            "--broker",
            central.broker,
            "--db",
            str(work / f"edge-{mode}.db"),
            "--edge",
            mode,
            *extra,
        ],
        work / f"edge-{mode}.log",
        say,
        watch,
    )
    result = worker.finish(timeout)
    after = central.metrics()
    cpu = result["cpu_pct"] = worker.cpu_between()
    # CPU time per event is steadier than a rate on a shared machine: it shows who is costly.
    result["cpu_us_per_event"] = {
        name: round(pct * 1e4 / result["rate"]) for name, pct in cpu.items()
    }
    if "fill.start" in worker.marks:
        result["fill_cpu_pct"] = worker.cpu_between("fill.start", "fill.end")
    result["central"] = {
        name: after.get(name, 0.0) - before.get(name, 0.0)
        for name in (
            "ingest_batches_total",
            "ingest_seconds_total",
            "events_applied_total",
            "events_duplicate_total",
            "dead_letters_total",
        )
    }
    return result


def _cpu(result: dict[str, Any]) -> str:
    pct, per_event = result["cpu_pct"], result["cpu_us_per_event"]
    return "cpu " + ", ".join(f"{n} {pct[n]}% ({per_event[n]} us/ev)" for n in pct)


def verify(central: Central, expected: dict[str, int]) -> dict[str, Any]:
    """Per edge: central stores seq 1..last_seq once each and its cursor is at last_seq."""
    conn = sqlite3.connect(f"file:{central.db}?mode=ro", uri=True)
    try:
        edges: dict[str, Any] = {}
        lost = duplicates = 0
        for edge_id, last in expected.items():
            rows = conn.execute(
                "SELECT COUNT(*) FROM events WHERE edge_id = ?", (edge_id,)
            ).fetchone()[0]
            in_range = conn.execute(
                "SELECT COUNT(DISTINCT seq) FROM events WHERE edge_id = ? AND seq BETWEEN 1 AND ?",
                (edge_id, last),
            ).fetchone()[0]
            # each (edge, seq) once: anything stored beyond that is a duplicate (or a stray)
            edge_lost, edge_dup = last - in_range, rows - in_range
            edges[edge_id.rsplit("/", 1)[1]] = {
                "last_seq": last,
                "stored": rows,
                "lost": edge_lost,
                "duplicates": edge_dup,
            }
            lost += edge_lost
            duplicates += edge_dup
        dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    finally:
        conn.close()
    api = {e["edge_id"]: e for e in httpx.get(f"{central.url}/api/v1/edges", timeout=60).json()}
    for edge_id, last in expected.items():
        applied = api.get(edge_id, {}).get("applied_seq")
        if applied != last:
            raise BenchError(
                f"central's cursor for {edge_id} is {applied}, the edge's last is {last}"
            )
    return {"lost": lost, "duplicates": duplicates, "dead_letters": dead, "edges": edges}


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
