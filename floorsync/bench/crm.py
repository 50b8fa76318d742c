"""``floorsync bench crm``: the sales pipeline, customer timelines and a large import at size.

A database is filled with ``--accounts`` customers, ``--opportunities`` opportunities over
the pipeline's stages and ``--timeline`` timeline entries, mostly interactions
(floorsync.bench.crm_data). A real central process serves it, and this process calls,
one request at a time over HTTP with a sales user's token:

* the pipeline board (target p95 < 100 ms) and the forecast by month and by owner;
* the timeline of random customers, its first page and the page after (p95 < 100 ms).

Then a file with a few bad rows is uploaded and run: the run is refused (409 bad_rows),
every bad row is listed and nothing is imported. Then ``--import-rows`` customers
(central.crm.import_sample) are uploaded, run and followed to the end (target < 60 s).
p50 / p95 / p99 are printed, with the ratio of each p95 to ``/health``'s measured in the
same run. ``--work-dir`` keeps the filled database for a second run.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from sqlalchemy import delete, func, select

from central.auth import create_user
from central.crm.import_sample import customers_csv
from central.db import make_engine, migrate, reading
from central.db.crm import import_jobs
from central.db.domain import customers, number_series
from floorsync.bench.common import percentile, print_latencies
from floorsync.bench.crm_data import populate_crm
from floorsync.procs import floorsync_cmd, free_port, spawn, stop, wait_http

TARGETS_MS = {
    "pipeline board": 100.0,
    "timeline, first page": 100.0,
    "timeline, second page": 100.0,
}
IMPORT_TARGET_S = 60.0
BAD_FILE_ROWS = 1000
# the timeline's sources and the tables they read, for the sizes printed
SOURCES = {
    "interactions": "interactions",
    "orders": "sales_orders",
    "shipments": "shipments",
    "invoices": "invoices",
    "payments": "payments",
    "quotes": "quotes",
    "opportunities": "opportunities",
    "tickets": "service_tickets",
    "repairs": "repair_orders",
}


def _fill(url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        filled = conn.execute(
            select(number_series.c.last).where(number_series.c.series == "OP")
        ).scalar_one_or_none()
        anything = conn.execute(select(func.count()).select_from(customers)).scalar_one()
    fill_s = None
    if filled is not None and filled >= args.opportunities:
        print(f"using the {filled:,} opportunities already in {url}", flush=True)
    elif anything:
        raise SystemExit(f"{url} holds a database filled in part or by something else: remove it")
    else:
        started = time.perf_counter()
        populate_crm(
            engine,
            accounts=args.accounts,
            opportunities=args.opportunities,
            timeline=args.timeline,
            now=datetime.now(UTC),
            say=lambda text: print(text, flush=True),
        )
        fill_s = round(time.perf_counter() - started, 1)
        print(f"filled in {fill_s:,.0f} s", flush=True)
    with engine.begin() as conn:  # a rerun starts without what the last one imported
        conn.execute(delete(customers).where(customers.c.code.like("K%")))
        conn.execute(delete(import_jobs))
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    analyze_s = round(time.perf_counter() - started, 1)
    print(f"analyzed in {analyze_s:,.0f} s", flush=True)
    with engine.begin() as conn:
        token = create_user(conn, f"bench-crm-{time.time_ns()}", ["sales"])
        sizes = {
            name: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for name, table in SOURCES.items()
        }
        accounts = conn.execute(
            select(func.count()).select_from(customers).where(customers.c.code.like("C%"))
        ).scalar_one()
    engine.dispose()
    sizes = {"accounts": accounts, "timeline": sum(sizes.values()), **sizes}
    print("  " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()), flush=True)
    return {"token": token, "sizes": sizes, "fill_s": fill_s, "analyze_s": analyze_s}


def _get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return seconds, response


def measure(client: httpx.Client, accounts: int, requests: int) -> dict[str, dict[str, float]]:
    rng = random.Random(5)
    start = date.today().replace(day=1)
    span = f"from={start}&to={start + timedelta(days=365)}"
    cursors: list[tuple[str, str]] = []  # (customer, the first page's next)

    def first_page() -> str:
        return f"/api/v1/customers/C{rng.randint(1, accounts):06d}/timeline?limit=50"

    def second_page() -> str:
        if not cursors:
            raise RuntimeError("no customer's timeline has a second page: fill more")
        code, after = rng.choice(cursors)
        return f"/api/v1/customers/{code}/timeline?limit=50&after={quote(after, safe='')}"

    calls: dict[str, Callable[[], str]] = {
        "health": lambda: "/health",
        "pipeline board": lambda: "/api/v1/pipeline",
        "forecast by month": lambda: f"/api/v1/forecast?by=month&{span}",
        "forecast by owner": lambda: f"/api/v1/forecast?by=owner&{span}",
        "timeline, first page": first_page,
        "timeline, second page": second_page,
    }
    results: dict[str, dict[str, float]] = {}
    for name, path in calls.items():
        seconds = []
        for n in range(5 + requests):  # the first five warm caches and connections
            took, response = _get(client, path())
            if n >= 5:
                seconds.append(took)
            if name == "timeline, first page" and response.json()["next"]:
                cursors.append((response.url.path.split("/")[-2], response.json()["next"]))
        seconds.sort()
        results[name] = {
            "p50_ms": round(percentile(seconds, 50) * 1000, 2),
            "p95_ms": round(percentile(seconds, 95) * 1000, 2),
            "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        }
        print(f"  {name}: p95 {results[name]['p95_ms']} ms", flush=True)
    return results


def _upload(client: httpx.Client, name: str, data: bytes) -> dict[str, Any]:
    response = client.post(
        "/api/v1/imports",
        files={"file": (name, data, "text/csv")},
        data={"kind": "customers"},
        timeout=300,
    )
    if response.status_code != 201:
        raise RuntimeError(f"upload {name}: {response.status_code} {response.text[:300]}")
    answer: dict[str, Any] = response.json()
    return answer


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with reading(engine).connect() as conn:
            return int(conn.execute(select(func.count()).select_from(customers)).scalar_one())
    finally:
        engine.dispose()


def check_bad_file(client: httpx.Client, url: str) -> dict[str, Any]:
    """A file with three bad rows: the run is refused, they are listed, nothing imported."""
    text = customers_csv(BAD_FILE_ROWS, seed=2).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    lines[10][1] = ""  # row 11 (the header is row 1): no name
    lines[20][3] = "einkauf at example.com"  # row 21: not an e-mail address
    lines[30][0] = lines[29][0]  # row 31: the code of row 30 again
    planted = [11, 21, 31]
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(lines)
    before = _count(url)
    preview = _upload(client, "bad-rows.csv", out.getvalue().encode())
    run = client.post(f"/api/v1/imports/{preview['id']}/run")
    refusal = run.json().get("error", {}).get("code") if run.status_code == 409 else None
    job = client.get(f"/api/v1/imports/{preview['id']}", params={"limit": 500}).json()
    listed = sorted({e["row"] for e in job["errors"]["items"]})
    imported = _count(url) - before
    result = {
        "rows": BAD_FILE_ROWS,
        "bad_rows": planted,
        "run_status": run.status_code,
        "refusal": refusal,
        "job_status": job["status"],
        "rows_listed": listed,
        "imported": imported,
        "pass": run.status_code == 409
        and refusal == "bad_rows"
        and job["status"] == "refused"
        and listed == planted
        and imported == 0,
    }
    print(
        f"  a file with bad rows {planted}: run {run.status_code} {refusal}, job {job['status']},"
        f" rows listed {listed}, customers imported {imported}",
        flush=True,
    )
    return result


def time_import(client: httpx.Client, rows: int) -> dict[str, Any]:
    """Upload, run and follow an import of ``rows`` customers to its end."""
    data = customers_csv(rows)
    print(f"  importing {rows:,} customers ({len(data) / 2**20:.1f} MiB of CSV)", flush=True)
    started = time.perf_counter()
    preview = _upload(client, "customers.csv", data)
    uploaded = time.perf_counter() - started
    if preview["bad"]:
        raise RuntimeError(f"the generated file has bad rows: {preview['errors']['items'][:3]}")
    run = client.post(f"/api/v1/imports/{preview['id']}/run")
    if run.status_code != 202:
        raise RuntimeError(f"run: {run.status_code} {run.text[:300]}")
    noted = 0.0
    while True:
        job = client.get(f"/api/v1/imports/{preview['id']}", params={"limit": 0}).json()
        now = time.perf_counter() - started
        if job["status"] != "running":
            break
        if now - noted >= 2:
            share = job["done"] / max(job["total"], 1)
            bar = "#" * round(30 * share) + "." * (30 - round(30 * share))
            print(f"  [{bar}] {job['done']:,} of {job['total']:,} rows, {now:.0f} s", flush=True)
            noted = now
        time.sleep(0.2)
    total = time.perf_counter() - started
    print(
        f"  import {job['status']}: {job['imported']:,} customers in {total:.1f} s"
        f" (upload and check {uploaded:.1f} s)",
        flush=True,
    )
    return {
        "rows": rows,
        "status": job["status"],
        "imported": job["imported"],
        "upload_s": round(uploaded, 2),
        "total_s": round(total, 2),
        "pass": job["status"] == "done" and job["imported"] == rows and total < IMPORT_TARGET_S,
    }


def run_one(label: str, url: str, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    print(
        f"{label}: {args.accounts:,} accounts, {args.opportunities:,} opportunities, "
        f"{args.timeline:,} timeline entries",
        flush=True,
    )
    filled = _fill(url, args)
    port = free_port()
    central = spawn(
        floorsync_cmd(
            "central", "--database", url, "--broker", "mqtt://127.0.0.1:1", "--http-port", str(port)
        ),
        logs / f"central-crm-{label}.log",
    )
    headers = {"Authorization": f"Bearer {filled['token']}"}
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=central, timeout=120)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            calls = measure(client, filled["sizes"]["accounts"], args.requests)
            bad_file = check_bad_file(client, url)
            imported = time_import(client, args.import_rows)
    finally:
        stop(central)
    health = calls["health"]["p95_ms"]
    return {
        "sizes": filled["sizes"],
        "fill_s": filled["fill_s"],
        "analyze_s": filled["analyze_s"],
        "calls": calls,
        "ratio_to_health_p95": {
            k: round(v["p95_ms"] / health, 1) for k, v in calls.items() if k != "health"
        },
        "import": imported,
        "bad_file": bad_file,
        "pass": all(calls[k]["p95_ms"] < ms for k, ms in TARGETS_MS.items())
        and imported["pass"]
        and bad_file["pass"],
    }


def main(args: argparse.Namespace) -> int:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="floorsync-bench-crm-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        figures["sqlite"] = run_one("sqlite", f"sqlite:///{work / 'crm-bench.db'}", args, work)
        if args.postgres:
            figures["postgresql"] = run_one("postgresql", args.postgres, args, work)
    print()
    print_latencies(figures, width=24)
    for db, f in figures.items():
        board = all(f["calls"][k]["p95_ms"] < ms for k, ms in TARGETS_MS.items())
        i, bad = f["import"], f["bad_file"]
        print(f"{db}: pipeline board and timeline p95 < 100 ms: {'PASS' if board else 'MISS'}")
        print(
            f"{db}: import of {i['rows']:,} customers in {i['total_s']} s "
            f"(target < {IMPORT_TARGET_S:.0f} s): {'PASS' if i['pass'] else 'MISS'}"
        )
        print(
            f"{db}: a file with bad rows {bad['bad_rows']} refused and nothing imported: "
            f"{'PASS' if bad['pass'] else 'MISS'}"
        )
    print("(x: the call's p95 over /health's p95, measured in the same run)")
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0 if all(f["pass"] for f in figures.values()) else 1


if __name__ == "__main__":
    from floorsync.bench.options import crm_arguments

    parser = argparse.ArgumentParser(description=__doc__)
    crm_arguments(parser)
    sys.exit(main(parser.parse_args()))
