"""Bulk data for ``floorsync bench api``: an order book and an event history of any size.

Rows are written straight into the tables in large chunks (raw executemany on SQLite,
COPY on PostgreSQL): building 100,000 orders through the domain functions would take
longer than the measurement, and the API reads the same rows either way.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, insert

from central.db.domain import customers, items, work_centers

T0 = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
STATES = ("draft", "confirmed", "in_production", "ready", "shipped", "closed", "held")
CHUNK = 20_000
# the sales order line columns written here and by rfm_data
LINE_COLUMNS = (
    "id",
    "sales_order_id",
    "line_no",
    "item_id",
    "quantity",
    "unit_price_cents",
    "produced",
    "shipped",
)

Say = Callable[[str], None]


def _when(engine: Engine, moment: datetime) -> Any:
    # the form SQLAlchemy's SQLite DATETIME stores (see central.effects.insert_events)
    if engine.dialect.name == "sqlite":
        return moment.isoformat(" ", "microseconds")[:26]
    return moment


def _day(engine: Engine, day: date) -> Any:
    return day.isoformat() if engine.dialect.name == "sqlite" else day


def _write(
    engine: Engine,
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    total: int,
    say: Say,
) -> None:
    """Write rows in chunks, printing progress every few seconds."""
    names = ", ".join(columns)
    written, started, noted = 0, time.perf_counter(), time.perf_counter()
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        nonlocal written, noted
        if not chunk:
            return
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if engine.dialect.name == "postgresql":
                with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                # the engine's connections autocommit each statement (see central.db.engine)
                cur.execute("BEGIN")
                cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", chunk)
            raw.commit()
        finally:
            raw.close()
        written += len(chunk)
        chunk.clear()
        now = time.perf_counter()
        if now - noted > 5:
            say(f"  {table}: {written:,} of {total:,} ({written / (now - started):,.0f} rows/s)")
            noted = now

    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            flush()
    flush()


def populate(
    engine: Engine, *, orders: int, events: int, edges: int, say: Say, customers_n: int = 1000
) -> None:
    """``customers_n`` customers, items, ``orders`` sales orders (1-3 lines, a production
    order of two tasks per line) in every state, and ``events`` stored events from ``edges``
    edges."""
    rng = random.Random(11)
    with engine.begin() as conn:
        conn.execute(
            insert(customers),
            [
                {
                    "code": f"C{n:05d}",
                    "name": f"Customer {n}",
                    "created_at": T0,
                    "payment_terms_days": 30,
                }
                for n in range(1, customers_n + 1)
            ],
        )
        conn.execute(
            insert(items),
            [
                {
                    "code": f"ITEM-{n:04d}",
                    "description": f"Item {n}",
                    "kind": "make",
                    "tracking": "lot",
                    "price_cents": 1000 + n,
                }
                for n in range(1, 201)
            ],
        )
        conn.execute(
            insert(work_centers),
            [
                {
                    "code": f"WC-{n:02d}",
                    "name": f"Cell {n}",
                    "stations": [f"ST-{n}"],
                    "edge_id": f"plant1/assembly/line{n:02d}/edge1",
                }
                for n in range(1, edges + 1)
            ],
        )
    say(f"writing {orders:,} sales orders with their lines, production orders and tasks")
    lines_of = [rng.randint(1, 3) for _ in range(orders)]
    total_lines = sum(lines_of)

    def sales_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, orders + 1):
            created = T0 + timedelta(minutes=5 * n)
            yield (
                n,
                f"SO-{n:07d}",
                rng.randint(1, customers_n),
                "make_to_order",
                STATES[n % len(STATES)],
                _day(engine, (created + timedelta(days=30)).date()),
                _when(engine, created),
            )

    _write(
        engine,
        "sales_orders",
        ("id", "number", "customer_id", "type", "status", "due_date", "created_at"),
        sales_rows(),
        orders,
        say,
    )

    def line_rows() -> Iterator[tuple[Any, ...]]:
        line_id = 0
        for n, count in enumerate(lines_of, start=1):
            for line_no in range(1, count + 1):
                line_id += 1
                yield (
                    line_id,
                    n,
                    line_no,
                    rng.randint(1, 200),
                    float(rng.randint(1, 500)),
                    rng.randint(1000, 90000),
                    0.0,
                    0.0,
                )

    _write(
        engine,
        "sales_order_lines",
        LINE_COLUMNS,
        line_rows(),
        total_lines,
        say,
    )

    def production_rows() -> Iterator[tuple[Any, ...]]:
        for line_id in range(1, total_lines + 1):
            yield (
                line_id,
                f"WO-{line_id:07d}",
                line_id,
                rng.randint(1, 200),
                100.0,
                rng.choice(("planned", "released", "in_progress", "completed")),
                0.0,
                0,
            )

    _write(
        engine,
        "production_orders",
        (
            "id",
            "number",
            "sales_order_line_id",
            "item_id",
            "quantity",
            "status",
            "received",
            "priority",
        ),
        production_rows(),
        total_lines,
        say,
    )

    def task_rows() -> Iterator[tuple[Any, ...]]:
        for po in range(1, total_lines + 1):
            for seq, op in ((10, "10"), (20, "20")):
                good = rng.randint(0, 100)
                yield (
                    po,
                    f"WO-{po:07d}",
                    op,
                    seq,
                    seq == 20,
                    rng.randint(1, edges),
                    100.0,
                    0.0,
                    1.0,
                    1,
                    False,
                    "[]",
                    "running",
                    good,
                    good // 20,
                    0,
                    good / 60,
                    0,
                    0,
                )

    _write(
        engine,
        "operation_tasks",
        (
            "production_order_id",
            "work_order",
            "operation",
            "sequence",
            "last",
            "work_center_id",
            "quantity",
            "setup_minutes",
            "run_minutes_per_unit",
            "crew_size",
            "inspection_required",
            "predecessors",
            "status",
            "good",
            "scrap",
            "rework",
            "labour_hours",
            "inspected",
            "rejected",
        ),
        task_rows(),
        2 * total_lines,
        say,
    )

    say(f"writing {events:,} stored events from {edges} edges")
    per_edge = events // edges

    def event_rows() -> Iterator[tuple[Any, ...]]:
        for seq in range(1, per_edge + 1):
            at = T0 + timedelta(milliseconds=seq * 20)
            for e in range(1, edges + 1):
                wo = f"WO-{rng.randint(1, total_lines):07d}"
                payload = orjson.dumps(
                    {
                        "work_order": wo,
                        "operation": "10",
                        "good": 3,
                        "scrap": 0,
                        "period_start": at.isoformat(),
                        "period_end": at.isoformat(),
                    }
                ).decode()
                yield (
                    f"plant1/assembly/line{e:02d}/edge1",
                    seq,
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    "production_report",
                    f"ST-{e}",
                    _when(engine, at),
                    _when(engine, at),
                    payload,
                )

    _write(
        engine,
        "events",
        ("edge_id", "seq", "event_id", "kind", "station", "source_ts", "ingested_at", "payload"),
        event_rows(),
        per_edge * edges,
        say,
    )
