"""``floorsync bench api``: order list and order detail latency on a big order book.

A database is filled with ``--orders`` sales orders (with lines, production orders and
tasks) and ``--events`` stored events (floorsync.bench.api_data), a real central process
serves it, and this process calls, one request at a time over HTTP with a token:

* the first page of the order list, a filtered page (status), a page deep in the list
  (by cursor), and a customer's orders;
* the detail of random orders (lines, production orders with task progress, ...).

p50 / p95 / p99 are printed per call, with the ratio of p95 to the p95 of ``/health``
measured in the same run (the cost of HTTP, auth-free, no database), and PASS when every
order call's p95 is under 50 ms. The filled database is kept with ``--work-dir`` so a
second run can skip the fill (it takes minutes at 10 million events).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from central.auth import create_user
from central.db import make_engine, migrate
from central.db.domain import sales_orders
from floorsync.bench.api_data import populate
from floorsync.bench.common import percentile, print_latencies
from floorsync.procs import floorsync_cmd, free_port, spawn, stop, wait_http

TARGET_MS = 50.0


def _fill(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(sales_orders)).scalar_one()
    if have >= args.orders:
        print(f"using the {have:,} orders already in {url}", flush=True)
    else:
        started = time.perf_counter()
        populate(engine, orders=args.orders, events=args.events, edges=20, say=print)
        print(f"filled in {time.perf_counter() - started:,.0f} s", flush=True)
    # A database in service has planner statistics (autovacuum, PRAGMA optimize); one
    # bulk-filled a minute ago has none, and plans as if its tables were empty.
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"analyzed in {time.perf_counter() - started:,.0f} s", flush=True)
    engine.dispose()


def _token(url: str) -> str:
    engine = make_engine(url)
    with engine.begin() as conn:
        token = create_user(conn, f"bench-{time.time_ns()}", ["sales"])
    engine.dispose()
    return token


def _time(client: httpx.Client, path: str, n: int) -> list[float]:
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return sorted(seconds)


def measure(base: str, token: str, requests: int, orders: int) -> dict[str, dict[str, float]]:
    rng = random.Random(5)
    results: dict[str, dict[str, float]] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        first = client.get("/api/v1/sales-orders", params={"limit": 1}).json()
        # the cursor is the last order number seen: this one is half way down the list
        cursor = f"SO-{orders // 2:07d}"
        calls: dict[str, Callable[[], str]] = {
            "health": lambda: "/health",
            "order list, first page": lambda: "/api/v1/sales-orders?limit=50",
            "order list, by status": lambda: "/api/v1/sales-orders?limit=50&status=in_production",
            "order list, deep page": lambda: f"/api/v1/sales-orders?limit=50&after={cursor}",
            "orders of a customer": lambda: (
                f"/api/v1/sales-orders?limit=50&customer=C{rng.randint(1, 1000):05d}"
            ),
            "order detail": lambda: f"/api/v1/sales-orders/SO-{rng.randint(1, orders):07d}",
        }
        if not first.get("items") or first.get("next") is None:
            raise RuntimeError(f"the order list is not paged as expected: {str(first)[:300]}")
        middle = client.get("/api/v1/sales-orders", params={"limit": 50, "after": cursor}).json()
        if len(middle.get("items", [])) != 50:
            raise RuntimeError(f"no full page after {cursor}: {str(middle)[:300]}")
        for name, path in calls.items():
            _time(client, path(), 5)  # warm caches and connections
            seconds = []
            for _ in range(requests):
                seconds += _time(client, path(), 1)
            seconds.sort()
            results[name] = {
                "p50_ms": round(percentile(seconds, 50) * 1000, 2),
                "p95_ms": round(percentile(seconds, 95) * 1000, 2),
                "p99_ms": round(percentile(seconds, 99) * 1000, 2),
            }
            print(f"  {name}: p95 {results[name]['p95_ms']} ms", flush=True)
    return results


def run_one(label: str, url: str, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    print(f"{label}: {args.orders:,} orders, {args.events:,} events", flush=True)
    _fill(url, args)
    token = _token(url)
    port = free_port()
    central = spawn(
        floorsync_cmd(
            "central", "--database", url, "--broker", "mqtt://127.0.0.1:1", "--http-port", str(port)
        ),
        logs / f"central-{label}.log",
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=central, timeout=120)
        results = measure(f"http://127.0.0.1:{port}", token, args.requests, args.orders)
    finally:
        stop(central)
    base = results["health"]["p95_ms"]
    orders = {k: v for k, v in results.items() if k != "health"}
    return {
        "calls": results,
        "ratio_to_health_p95": {k: round(v["p95_ms"] / base, 1) for k, v in orders.items()},
        "pass": all(v["p95_ms"] < TARGET_MS for v in orders.values()),
    }


def main(args: argparse.Namespace) -> int:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="floorsync-bench-api-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        figures["sqlite"] = run_one("sqlite", f"sqlite:///{work / 'api-bench.db'}", args, work)
        if args.postgres:
            figures["postgresql"] = run_one("postgresql", args.postgres, args, work)
    print()
    print_latencies(figures, width=26)
    for db, f in figures.items():
        print(f"{db}: every order call p95 < {TARGET_MS:.0f} ms: {'PASS' if f['pass'] else 'MISS'}")
    print("(x: the call's p95 over /health's p95, measured in the same run)")
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0 if all(f["pass"] for f in figures.values()) else 1


if __name__ == "__main__":
    from floorsync.bench.options import api_arguments

    parser = argparse.ArgumentParser(description=__doc__)
    api_arguments(parser)
    sys.exit(main(parser.parse_args()))
