"""``floorsync bench customers``: the customer side at size.

A database is filled with ``--customers`` customers, ``--orders`` sales orders (lines,
production orders, tasks) and ``--events`` stored events (floorsync.bench.api_data), then
the after-sales rows on top (genealogy, shipments, invoices, tickets, repairs:
floorsync.bench.customers_data), and RFM is computed once. A real central process serves
it, and this process calls, one request at a time over HTTP:

* the customer 360 of random customers (target p95 < 100 ms);
* the customer's order progress page data through random progress links (p95 < 100 ms);
* backward genealogy of random finished lots, and of a lot several levels deep (< 200 ms);
* forward genealogy (the recall query) of random bought lots (no target: it grows with
  how many orders a lot went into).

Then RFM is computed for ``--rfm-customers`` customers in a database of their own
(target < 5 s). p50 / p95 / p99 are printed, with the ratio of each p95 to ``/health``'s
measured in the same run. ``--work-dir`` keeps the filled databases for a second run.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, select

from central.aftersales import order_links, rfm
from central.auth import create_user
from central.db import make_engine, migrate
from central.db.aftersales import operation_crews
from central.db.domain import sales_orders
from floorsync.bench import rfm_data
from floorsync.bench.api_data import populate
from floorsync.bench.common import percentile, print_latencies
from floorsync.bench.customers_data import populate_aftersales
from floorsync.procs import floorsync_cmd, free_port, spawn, stop, wait_http

TARGETS_MS = {
    "customer 360": 100.0,
    "order progress (link)": 100.0,
    "backward genealogy": 200.0,
    "backward genealogy, deep lot": 200.0,
}
RFM_TARGET_S = 5.0
EDGES = 20
LINKS = 200


def _fill(url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(sales_orders)).scalar_one()
        crews = conn.execute(select(func.count()).select_from(operation_crews)).scalar_one()
    if have >= args.orders and crews:
        print(f"using the {have:,} orders already in {url}", flush=True)
    else:
        started = time.perf_counter()
        populate(
            engine,
            orders=args.orders,
            events=args.events,
            edges=EDGES,
            say=print,
            customers_n=args.customers,
        )
        populate_aftersales(engine, edges=EDGES, say=print)
        print(f"filled in {time.perf_counter() - started:,.0f} s", flush=True)
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"analyzed in {time.perf_counter() - started:,.0f} s", flush=True)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        summary = rfm.compute(conn, now, 365 * 2, "on_demand")
    print(f"RFM scored {summary['customers']:,} customers for the 360 pages", flush=True)
    keys = _keys(engine, now)
    engine.dispose()
    return keys


def _keys(engine: Engine, now: datetime) -> dict[str, Any]:
    """A token, progress links to random orders, and the sizes to draw random keys from."""
    rng = random.Random(3)
    with engine.begin() as conn:
        token = create_user(conn, f"bench-{time.time_ns()}", ["sales"])
        orders = conn.execute(select(func.count()).select_from(sales_orders)).scalar_one()
        user_id = conn.exec_driver_sql("SELECT id FROM users ORDER BY id DESC LIMIT 1").scalar_one()
        links = []
        for _ in range(LINKS):
            number = f"SO-{rng.randint(1, orders):07d}"
            status = conn.execute(
                select(sales_orders.c.status).where(sales_orders.c.number == number)
            ).scalar_one()
            if status != "cancelled":
                links.append(order_links.create(conn, number, user_id, now, None)["token"])
        work_orders = conn.exec_driver_sql("SELECT count(*) FROM production_orders").scalar_one()
        customers = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
        bought = list(
            conn.exec_driver_sql(
                "SELECT lot FROM material_consumption WHERE item = 'BOLT' GROUP BY lot LIMIT 500"
            ).scalars()
        )
        deep = conn.exec_driver_sql(
            "SELECT lot FROM material_consumption WHERE item = 'SUB' ORDER BY id DESC LIMIT 1"
        ).scalar_one_or_none()
    return {
        "token": token,
        "links": links,
        "work_orders": work_orders,
        "customers": customers,
        "deep_lot": deep,
        "bought_lots": bought,
    }


def _time(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return seconds


def measure(base: str, keys: dict[str, Any], requests: int) -> dict[str, dict[str, float]]:
    rng = random.Random(5)
    wos, customers = keys["work_orders"], keys["customers"]
    # the deep lot: a work order that consumed a made lot, which consumed one, ...
    deep = keys["deep_lot"] or "WO-0000003"
    calls: dict[str, Callable[[], str]] = {
        "health": lambda: "/health",
        "customer 360": lambda: f"/api/v1/customers/C{rng.randint(1, customers):05d}/overview",
        "order progress (link)": lambda: f"/api/v1/track/{rng.choice(keys['links'])}",
        "backward genealogy": lambda: f"/api/v1/trace/backward?lot=WO-{rng.randint(1, wos):07d}",
        "backward genealogy, deep lot": lambda: f"/api/v1/trace/backward?lot={deep}",
        "forward genealogy (recall)": lambda: (
            f"/api/v1/trace/forward?lot={rng.choice(keys['bought_lots'])}"
        ),
    }
    results: dict[str, dict[str, float]] = {}
    headers = {"Authorization": f"Bearer {keys['token']}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for name, path in calls.items():
            for _ in range(5):  # warm caches and connections
                _time(client, path())
            n = requests if name != "forward genealogy (recall)" else max(10, requests // 5)
            seconds = sorted(_time(client, path()) for _ in range(n))
            results[name] = {
                "p50_ms": round(percentile(seconds, 50) * 1000, 2),
                "p95_ms": round(percentile(seconds, 95) * 1000, 2),
                "p99_ms": round(percentile(seconds, 99) * 1000, 2),
            }
            print(f"  {name}: p95 {results[name]['p95_ms']} ms", flush=True)
    return results


def run_one(label: str, url: str, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    print(
        f"{label}: {args.customers:,} customers, {args.orders:,} orders, {args.events:,} events",
        flush=True,
    )
    keys = _fill(url, args)
    port = free_port()
    central = spawn(
        floorsync_cmd(
            "central", "--database", url, "--broker", "mqtt://127.0.0.1:1", "--http-port", str(port)
        ),
        logs / f"central-customers-{label}.log",
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=central, timeout=120)
        results = measure(f"http://127.0.0.1:{port}", keys, args.requests)
    finally:
        stop(central)
    base = results["health"]["p95_ms"]
    return {
        "calls": results,
        "ratio_to_health_p95": {
            k: round(v["p95_ms"] / base, 1) for k, v in results.items() if k != "health"
        },
        "pass": all(results[k]["p95_ms"] < ms for k, ms in TARGETS_MS.items()),
    }


def run_rfm(url: str, customers: int) -> dict[str, Any]:
    """RFM over ``customers`` customers with about three orders each."""
    engine = make_engine(url)
    migrate(engine)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
    if have < customers:
        print(f"rfm: writing {customers:,} customers and {3 * customers:,} orders", flush=True)
        rfm_data.populate(engine, customers_count=customers, orders=3 * customers, as_of=now)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    runs = []
    for trigger in ("on_demand", "on_demand"):  # the second run updates every row it wrote
        started = time.perf_counter()
        with engine.begin() as conn:
            summary = rfm.compute(conn, now, 365, trigger)
        runs.append(time.perf_counter() - started)
        print(f"  rfm: {summary['customers']:,} customers scored in {runs[-1]:.2f} s", flush=True)
    engine.dispose()
    return {
        "customers": customers,
        "first_s": round(runs[0], 2),
        "again_s": round(runs[1], 2),
        "pass": max(runs) < RFM_TARGET_S,
    }


def main(args: argparse.Namespace) -> int:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="floorsync-bench-customers-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        figures["sqlite"] = run_one(
            "sqlite", f"sqlite:///{work / 'customers-bench.db'}", args, work
        )
        if args.postgres:
            figures["postgresql"] = run_one("postgresql", args.postgres, args, work)
        figures["rfm"] = run_rfm(f"sqlite:///{work / 'rfm-bench.db'}", args.rfm_customers)
    print()
    dbs = [db for db in figures if db != "rfm"]
    print_latencies({db: figures[db] for db in dbs})
    for db in dbs:
        verdict = "PASS" if figures[db]["pass"] else "MISS"
        print(f"{db}: 360 and progress p95 < 100 ms, backward genealogy p95 < 200 ms: {verdict}")
    r = figures["rfm"]
    print(
        f"RFM for {r['customers']:,} customers: {r['first_s']} s, again {r['again_s']} s "
        f"(target < {RFM_TARGET_S:.0f} s): {'PASS' if r['pass'] else 'MISS'}"
    )
    print("(x: the call's p95 over /health's p95, measured in the same run)")
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0 if all(f["pass"] for f in figures.values()) else 1


if __name__ == "__main__":
    from floorsync.bench.options import customers_arguments

    parser = argparse.ArgumentParser(description=__doc__)
    customers_arguments(parser)
    sys.exit(main(parser.parse_args()))
