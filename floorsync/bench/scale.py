"""``floorsync bench scale``: many simulated edges into central workers sharing the ingest.

Each run gets a Mosquitto of its own (free port) and a fresh PostgreSQL database;
``--workers`` real ``floorsync central`` processes join one MQTT 5 shared
subscription (``mqtt.shared_group``), and ``floorsync sim load`` offers
``--edges`` x ``--rate`` events/s for ``--duration`` s, then waits for the last acks.
A baseline run with one worker at the same load comes first, so the figures of one
run can be compared (they drift between machines and with load).

Measured per run:

- offered and achieved events/s (events central committed during the load window);
- ingest lag p50 / p99 / max, from the database: ``ingested_at - source_ts`` of every
  event, exact, over all workers; and the p99 bucket of central's per-edge lag
  histogram on each worker's /metrics (commit time included, bucket resolution only);
- lost, duplicated and out-of-order events per edge: central's events against what
  the generator recorded (seq 1..last of every edge, once each, in seq order);
- CPU of each process over the load window, PostgreSQL's server processes, the machine.

The exit code is 0 when the bench measured, whether or not the target was met.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, text

from central.db import make_engine, migrate
from floorsync.bench.common import Say, cpu_seconds, interrupt, work_dir
from floorsync.bench.processes import (
    BenchError,
    Processes,
    find_mosquitto,
    start_mosquitto,
    tail,
)
from floorsync.procs import floorsync_cmd, free_port, wait_http

TARGET_P99_S = 1.0
GROUP = "central"
COUNTERS = {
    "floorsync_central_events_applied_total": "applied",
    "floorsync_central_events_duplicate_total": "duplicates",
    "floorsync_central_ingest_batches_total": "batches",
    "floorsync_central_ingest_seconds_total": "ingest_s",
}
EVENTS_PER_GENERATOR = 20_000  # one generator process offers this much at ~50 % of a core
DRAIN_S = 60.0  # and twice the load's duration: how long the edges wait for the last acks


@dataclass
class Window:
    """CPU counters at the start of the load window, and the figures at its end."""

    pids: dict[str, int]
    started_wall: float = 0.0
    started: float = 0.0
    cpu0: dict[str, float] = field(default_factory=dict)
    cpu_pct: dict[str, float] = field(default_factory=dict)
    ended_wall: float = 0.0

    def open(self) -> None:
        self.started_wall, self.started = time.time(), time.monotonic()
        self.cpu0 = _cpu(self.pids)

    def close(self) -> None:
        wall = max(time.monotonic() - self.started, 1e-9)
        cpu1 = _cpu(self.pids)
        self.cpu_pct = {n: round(100 * (cpu1[n] - self.cpu0.get(n, 0.0)) / wall) for n in cpu1}
        self.ended_wall = time.time()


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds of our processes, of all PostgreSQL server processes, of the machine."""
    found = {name: cpu_seconds(pid) for name, pid in pids.items()}
    found["postgres"] = sum(cpu_seconds(int(p.name)) for p in _postgres_pids())
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    found["machine_all_cores"] = (
        (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK") / (os.cpu_count() or 1)
    )
    return found


def _postgres_pids() -> Iterator[Path]:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if (proc / "comm").read_text().strip() == "postgres":
                    yield proc


class CentralWorker:
    """One ``floorsync central`` on the run's database, in the shared group."""

    def __init__(self, procs: Processes, work: Path, n: int, database: str, broker: str) -> None:
        self.name = f"central-{n}"
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = work / f"{self.name}.log"
        config = work / f"{self.name}.toml"
        config.write_text(
            f'[database]\nurl = "{database}"\n\n'
            f'[mqtt]\nurl = "{broker}?protocol=5"\nclient_id = "{self.name}"\n'
            f'shared_group = "{GROUP}"\n\n'
            f"[http]\nport = {self.url.rsplit(':', 1)[1]}\n\n"
            # a scheduled RFM run landing in the window would be measured as ingest
            "[rfm]\nenabled = false\n"
        )
        cmd = floorsync_cmd("central", "--config", str(config), "--log-level", "warning")
        self.proc = procs.start(cmd, self.log)

    def wait_ready(self) -> None:
        try:
            wait_http(f"{self.url}/health", timeout=90.0, proc=self.proc)
            deadline = time.monotonic() + 20.0
            while not httpx.get(f"{self.url}/health").json().get("mqtt_connected"):
                if time.monotonic() > deadline:
                    raise BenchError(f"{self.name} did not connect to the broker within 20 s")
                time.sleep(0.05)
        except (RuntimeError, TimeoutError) as exc:
            raise BenchError(f"{self.name} did not start: {exc}\n{tail(self.log)}") from None

    def scrape(self) -> tuple[dict[float, float], dict[str, float]]:
        """Its ingest-lag histogram summed over edges (cumulative count per bound), and its
        ingest counters (events applied, duplicates, batches, seconds spent)."""
        buckets: dict[float, float] = {}
        counters: dict[str, float] = {}
        for line in httpx.get(f"{self.url}/metrics", timeout=30.0).text.splitlines():
            if line.startswith("floorsync_central_ingest_lag_seconds_bucket{"):
                labels, _, value = line.rpartition(" ")
                bound = labels.split('le="', 1)[1].split('"', 1)[0]
                key = float("inf") if bound == "+Inf" else float(bound)
                buckets[key] = buckets.get(key, 0.0) + float(value)
            name, _, value = line.partition(" ")
            if name in COUNTERS:
                counters[COUNTERS[name]] = float(value)
        return buckets, counters


class Generator:
    """``floorsync sim load`` as a child; its progress lines go to ``say``."""

    def __init__(
        self,
        procs: Processes,
        work: Path,
        n: int,
        broker: str,
        edges: int,
        args: argparse.Namespace,
        say: Say,
        site: str,
    ) -> None:
        self.result_path = work / f"load-{n}.json"
        self.log = work / f"load-{n}.log"
        self.started = threading.Event()
        self.say = say
        cmd = floorsync_cmd(
            "sim",
            "load",
            "--edges",
            str(edges),
            "--rate",
            str(args.rate),
            "--broker",
            broker,
            "--duration",
            str(args.duration),
            "--site",
            site,
            "--drain-timeout",
            str(DRAIN_S + 2 * args.duration),
            "--json",
            str(self.result_path),
            "--log-level",
            "warning",
        )
        self.proc = procs.start(cmd, self.log, stdout=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read, name=f"load-{n}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if "offering" in line:
                self.started.set()
            self.say(f"  {line}")

    def result(self, timeout: float) -> dict[str, Any]:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"the load generator did not finish in {timeout:.0f} s") from None
        self._reader.join(5)
        if not self.result_path.exists():
            raise BenchError(f"the load generator exited with {code}\n{tail(self.log)}")
        found: dict[str, Any] = orjson.loads(self.result_path.read_bytes())
        return found


def main(args: argparse.Namespace) -> int:
    if args.edges < 1 or args.rate <= 0 or args.workers < 1 or args.duration <= 0:
        print(
            "bench scale: --edges and --workers must be at least 1, --rate and --duration above 0",
            file=sys.stderr,
        )
        return 2
    say = Say()
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        figures = measure(args, say)
    except KeyboardInterrupt:
        print("bench scale interrupted; its processes are stopped", file=sys.stderr, flush=True)
        raise
    except BenchError as exc:
        print(f"bench scale failed: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception:
        print(f"bench scale failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    print()
    print(table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
        print(f"wrote {args.json}")
    return 0


def measure(args: argparse.Namespace, say: Say) -> dict[str, Any]:
    """Every run (the one-worker baseline, then ``--workers``) and the machine's state."""
    binary = find_mosquitto(args.mosquitto)
    load = _loadavg()
    say(
        f"bench scale: {args.edges} edges x {args.rate:g} ev/s = {args.edges * args.rate:,.0f} "
        f"ev/s for {args.duration:g} s; {os.cpu_count()} cpus, load {load}"
    )
    workers = [args.workers] if args.no_baseline or args.workers == 1 else [1, args.workers]
    runs = []
    with work_dir(args.work_dir, "floorsync-scale-") as work:
        for count in workers:
            run_dir = work / f"workers-{count}"
            run_dir.mkdir(exist_ok=True)
            with Processes() as procs:
                runs.append(run(procs, run_dir, binary, count, args, say))
    baseline = runs[0]["achieved_rate"]
    for r in runs:
        r["ratio_to_one_worker"] = round(r["achieved_rate"] / baseline, 2) if baseline else None
    return {
        "edges": args.edges,
        "rate_per_edge": args.rate,
        "duration_s": args.duration,
        "target_p99_s": TARGET_P99_S,
        "runs": runs,
        "machine": {"cpus": os.cpu_count(), "loadavg_start": load, "loadavg_end": _loadavg()},
    }


def run(
    procs: Processes,
    work: Path,
    binary: str,
    worker_count: int,
    args: argparse.Namespace,
    say: Say,
) -> dict[str, Any]:
    """One run: fresh broker and database, ``worker_count`` workers, the load, the checks."""
    say(f"run with {worker_count} worker(s)")
    broker, mosquitto = start_mosquitto(procs, binary, work)
    with fresh_database(args.postgres) as url:
        engine = make_engine(url)
        try:
            migrate(engine)  # once, before the workers, so they do not race to migrate
            workers = [CentralWorker(procs, work, n + 1, url, broker) for n in range(worker_count)]
            for worker in workers:
                worker.wait_ready()
            time.sleep(0.3)  # each subscribes right after CONNACK; let the SUBACKs land
            say(f"  mosquitto {broker}, {worker_count} central worker(s) ready")
            found = _load(procs, work, broker, workers, mosquitto.pid, args, say)
            found["workers"] = worker_count
            found.update(check(engine, found.pop("expected"), found["window"]))
            # CPU per event is steadier than a rate on a shared machine: it says what a
            # dedicated core would do
            rate = max(found["achieved_rate"], 1)
            found["cpu_us_per_event"] = {
                name: round(pct * 1e4 / rate)
                for name, pct in found["cpu_pct"].items()
                if name != "machine_all_cores"
            }
        finally:
            engine.dispose()
    say(
        f"  {worker_count} worker(s): {found['achieved_rate']:,.0f} of "
        f"{found['offered_rate']:,.0f} ev/s; lag p50 {found['lag_p50_s']:.3f} s "
        f"p99 {found['lag_p99_s']:.3f} s; lost {found['lost']} dup {found['duplicates']} "
        f"out of order {found['out_of_order']}; cpu % {found['cpu_pct']}; "
        f"cpu us/event {found['cpu_us_per_event']}"
    )
    return found


def _load(
    procs: Processes,
    work: Path,
    broker: str,
    workers: list[CentralWorker],
    mosquitto_pid: int,
    args: argparse.Namespace,
    say: Say,
) -> dict[str, Any]:
    offered = args.edges * args.rate
    count = args.generators or max(1, -(-int(offered) // EVENTS_PER_GENERATOR))
    count = min(count, args.edges)
    shares = [args.edges // count + (n < args.edges % count) for n in range(count)]
    site = f"scale-{len(workers)}w"
    generators = [
        Generator(procs, work, n + 1, broker, edges, args, say, f"{site}-{n + 1}")
        for n, edges in enumerate(shares)
    ]
    pids = {"mosquitto": mosquitto_pid}
    pids.update({w.name: w.proc.pid for w in workers})
    pids.update({f"load-{n + 1}": g.proc.pid for n, g in enumerate(generators)})
    for g in generators:
        if not g.started.wait(60):
            raise BenchError(f"the load generator did not connect\n{tail(g.log)}")
    window = Window(pids)
    window.open()
    time.sleep(args.duration)
    window.close()
    results = [g.result(timeout=DRAIN_S + 2 * args.duration + 60.0) for g in generators]
    buckets: dict[float, float] = {}
    per_worker = {}
    for worker in workers:
        found, per_worker[worker.name] = worker.scrape()
        for bound, value in found.items():
            buckets[bound] = buckets.get(bound, 0.0) + value
    expected = {
        e: (r["last_seq"], r["acked_seq"]) for res in results for e, r in res["edges"].items()
    }
    return {
        "offered_rate": offered,
        "generators": count,
        "recorded": sum(r["recorded"] for r in results),
        "resends": sum(r["resends"] for r in results),
        "drained": all(r["drained"] for r in results),
        "drain_s": round(max(r["drain_s"] for r in results), 2),
        "cpu_pct": window.cpu_pct,
        "histogram_p99_le_s": _bucket_quantile(buckets, 0.99),
        "per_worker": per_worker,
        "window": (window.started_wall, window.ended_wall),
        "expected": expected,
    }


def _bucket_quantile(cumulative: dict[float, float], q: float) -> float | None:
    """The upper bound of the bucket holding the ``q`` quantile; None without events."""
    if not cumulative:
        return None
    total = cumulative[float("inf")]
    for bound in sorted(cumulative):
        if total and cumulative[bound] >= q * total:
            return bound
    return None


def check(
    engine: Engine, expected: dict[str, tuple[int, int]], window: tuple[float, float]
) -> dict[str, Any]:
    """Central's events against what each edge recorded (last seq) and was told is stored
    (acked seq); the lag and the rate from the database."""
    with engine.connect() as conn:
        stored = {
            row.edge_id: row
            for row in conn.execute(
                text(
                    "SELECT edge_id, count(*) AS n, count(DISTINCT seq) AS distinct_n,"
                    " min(seq) AS low, max(seq) AS high FROM events GROUP BY edge_id"
                )
            )
        }
        cursors: dict[str, int] = dict(
            conn.execute(text("SELECT edge_id, applied_seq FROM edge_cursors")).tuples().all()
        )
        out_of_order = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT seq - lag(seq) OVER"
                " (PARTITION BY edge_id ORDER BY id) AS step FROM events) s WHERE step <> 1"
            )
        ).scalar_one()
        lag = conn.execute(
            text(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY s), max(s) FROM"
                " (SELECT extract(epoch FROM ingested_at - source_ts) AS s FROM events) l"
            )
        ).one()
        in_window = conn.execute(
            text(
                "SELECT count(*) FROM events WHERE ingested_at >= to_timestamp(:a)"
                " AND ingested_at < to_timestamp(:b)"
            ),
            {"a": window[0], "b": window[1]},
        ).scalar_one()
        dead = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar_one()
        size = conn.execute(text("SELECT pg_total_relation_size('events')")).scalar_one()
    lost = duplicates = pending = behind = 0
    for edge_id, (last, acked) in expected.items():
        row = stored.get(edge_id)
        n = row.n if row else 0

        def once_up_to(top: int, row: Any = row, edge_id: str = edge_id) -> int:
            """How many of seq 1..top central holds."""
            if row is None:
                return 0
            if row.low >= 1 and row.high <= top:
                return int(row.distinct_n)
            return _distinct_in_range(engine, edge_id, top)

        # lost: acknowledged to the edge (so gone from its outbox) and not at central
        lost += acked - once_up_to(acked)
        # still in the edge's outbox when the generator stopped waiting: late, not lost
        pending += last - acked
        # the unique key allows each (edge, seq) once: anything beyond 1..last is extra
        duplicates += n - once_up_to(last)
        behind += cursors.get(edge_id, 0) < acked
    strays = sum(r.n for e, r in stored.items() if e not in expected)
    return {
        "achieved_rate": round(in_window / (window[1] - window[0])),
        "stored": sum(r.n for r in stored.values()),
        "lost": lost,
        "unacknowledged": pending,
        "duplicates": duplicates + strays,
        "out_of_order": int(out_of_order),
        "dead_letters": int(dead),
        "cursors_behind_acks": behind,
        "events_bytes_per_event": round(size / max(1, sum(r.n for r in stored.values()))),
        "lag_p50_s": round(float(lag[0] or 0.0), 4),
        "lag_p99_s": round(float(lag[1] or 0.0), 4),
        "lag_max_s": round(float(lag[2] or 0.0), 4),
    }


def _distinct_in_range(engine: Engine, edge_id: str, last: int) -> int:
    with engine.connect() as conn:
        found: int = conn.execute(
            text(
                "SELECT count(DISTINCT seq) FROM events"
                " WHERE edge_id = :e AND seq BETWEEN 1 AND :last"
            ),
            {"e": edge_id, "last": last},
        ).scalar_one()
    return found


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new database on the server of ``admin_url``, dropped afterwards."""
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"floorsync_scale_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise BenchError(f"cannot create a database at {admin.url!r}: {exc}") from None
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table(figures: dict[str, Any]) -> str:
    """One row a run: the rate against the offered load and the one-worker run, lag, checks."""
    head = (
        f"{'workers':>7} {'offered/s':>10} {'achieved/s':>10} {'x 1 worker':>10} "
        f"{'lag p50 s':>9} {'lag p99 s':>9} {'hist p99<=':>10} {'max s':>7} "
        f"{'lost':>5} {'dup':>4} {'disorder':>8} {'unacked':>7}  cpu % (of one core)"
    )
    lines = [head]
    for r in figures["runs"]:
        hist = r["histogram_p99_le_s"]
        lines.append(
            f"{r['workers']:>7} {r['offered_rate']:>10,.0f} {r['achieved_rate']:>10,.0f} "
            f"{r['ratio_to_one_worker'] or 0:>10.2f} {r['lag_p50_s']:>9.3f} "
            f"{r['lag_p99_s']:>9.3f} {hist if hist is not None else '-':>10} "
            f"{r['lag_max_s']:>7.2f} {r['lost']:>5} {r['duplicates']:>4} "
            f"{r['out_of_order']:>8} {r['unacknowledged']:>7}  "
            + ", ".join(f"{name} {pct}" for name, pct in r["cpu_pct"].items())
        )
        per_event = r.get("cpu_us_per_event", {})
        lines.append(
            f"{'':>7} cpu us per event: " + ", ".join(f"{n} {us}" for n, us in per_event.items())
        )
    last = figures["runs"][-1]
    met = (
        last["lag_p99_s"] < TARGET_P99_S
        and last["achieved_rate"] >= 0.95 * last["offered_rate"]
        and last["lost"] == last["duplicates"] == last["out_of_order"] == 0
    )
    lines.append(
        f"\ntarget: {figures['edges'] * figures['rate_per_edge']:,.0f} ev/s with lag p99 under "
        f"{TARGET_P99_S:g} s, 0 lost, 0 duplicated, in order: {'met' if met else 'NOT met'} "
        f"with {last['workers']} worker(s). Lag is ingested_at - source_ts of every event in "
        "the database; 'hist p99<=' the bucket of central's /metrics histogram; lost: "
        "acknowledged to an edge and not at central; unacked: still in an edge's outbox "
        "when it stopped waiting (late, not lost); machine_all_cores: % of all cores. "
        f"Load average {figures['machine']['loadavg_start']} at the start, "
        f"{figures['machine']['loadavg_end']} at the end; compare ratios from one run."
    )
    return "\n".join(lines)


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
