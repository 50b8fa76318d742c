"""``floorsync bench ingest``: central's ingest with live order effects, from 20 edges.

Central's ingest path (decode, validate, store each event once, apply its effects,
advance the edge's cursor, build the ack) is driven in-process with the batches edges
send, round-robin over the edges, on SQLite and, given ``--postgres``, PostgreSQL.
Two streams of the same size and mix (production reports, material issues,
inspections) are measured on fresh databases:

* **baseline**: work orders central does not know, so the order book is untouched
  (the spine's cost: store, cursor, station totals);
* **live effects**: work orders released in central, so every batch also updates
  operation tasks, consumption by lot and stock, inspections, and books finished-goods
  receipts as last operations report.

The figure to meet is the live-effects rate (target >= 10,000 events/s); the ratio
to the baseline says what the order book costs. The network is not in it: ``bench
sync`` measures the end-to-end path through a broker.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, select

from central.db import make_engine, migrate
from central.db.domain import (
    bom_lines,
    customers,
    items,
    operation_tasks,
    production_orders,
    routing_operations,
    stock_moves,
    work_centers,
)
from central.ingest import Ingestor
from central.orders import dispatch, inventory, production
from floorsync.bench.options import ingest_arguments
from protocols.contract import EdgeAddress, TopicLayout, encode_batch
from protocols.contract.ids import new_event_id

TARGET = 10_000.0
LAYOUT = TopicLayout()
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _edges(count: int) -> list[str]:
    return [f"plant1/assembly/line{i:02d}/edge1" for i in range(1, count + 1)]


def setup_orders(engine: Engine, edges: list[str], per_edge: int) -> dict[str, list[str]]:
    """Per edge, released two-operation orders of a made item that consumes a bought one."""
    with engine.begin() as conn:
        conn.execute(insert(customers).values(code="BENCH", name="Bench", created_at=T0))
        part = conn.execute(
            insert(items).values(code="BENCH-PART", description="Part", kind="make", tracking="lot")
        ).inserted_primary_key[0]  # type: ignore[index]
        raw = conn.execute(
            insert(items).values(code="BENCH-RAW", description="Raw", kind="buy", tracking="lot")
        ).inserted_primary_key[0]  # type: ignore[index]
        inventory.book(
            conn,
            [
                inventory.Move(raw, f"LOT-{n}", 1e9, "purchase", "PO-1", to_location="STORES")
                for n in range(10)
            ],
            T0,
        )
        orders: dict[str, list[str]] = {}
        for e, edge in enumerate(edges):
            wc = conn.execute(
                insert(work_centers).values(
                    code=f"WC-{e:02d}", name=f"Cell {e}", edge_id=edge, stations=["ST-1", "ST-2"]
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if e == 0:
                for op, seq in (("10", 10), ("20", 20)):
                    conn.execute(
                        insert(routing_operations).values(
                            item_id=part,
                            operation=op,
                            sequence=seq,
                            work_center_id=wc,
                            run_minutes_per_unit=0.1,
                            predecessors=[],
                        )
                    )
                conn.execute(
                    insert(bom_lines).values(
                        item_id=part, operation="10", component_id=raw, quantity_per_unit=1.0
                    )
                )
            numbers = []
            for _ in range(per_edge):
                number = production.create(conn, part, 10_000_000, T0)
                # route this order's tasks to the edge's own work center
                conn.execute(
                    operation_tasks.update()
                    .where(operation_tasks.c.work_order == number)
                    .values(work_center_id=wc)
                )
                production.release(conn, number, T0)
                numbers.append(number)
            orders[edge] = numbers
            dispatch.refresh(conn, [edge], T0)
    return orders


def stream(
    edges: list[str], orders: dict[str, list[str]], total: int, batch: int, seed: int = 7
) -> list[tuple[str, bytes]]:
    """(topic, message) pairs as the edges send them: 70 % reports, 20 % issues, 10 % checks."""
    rng = random.Random(seed)
    seqs = dict.fromkeys(edges, 0)
    messages: list[tuple[str, bytes]] = []
    made = 0
    while made < total:
        for edge in edges:
            if made >= total:
                break
            envelopes = []
            for _ in range(min(batch, total - made)):
                seqs[edge] += 1
                made += 1
                envelopes.append(_event(edge, seqs[edge], rng.choice(orders[edge]), rng))
            topic = LAYOUT.events(EdgeAddress(*edge.split("/")))
            messages.append((topic, encode_batch(edge, envelopes)))
    return messages


def _event(edge: str, seq: int, wo: str, rng: random.Random) -> bytes:
    at = T0 + timedelta(milliseconds=seq)
    roll = rng.random()
    if roll < 0.7:
        op = rng.choice(("10", "20"))
        kind, station = "production_report", "ST-1" if op == "10" else "ST-2"
        payload: dict[str, Any] = {
            "work_order": wo,
            "operation": op,
            "good": rng.randint(1, 5),
            "scrap": rng.choice((0, 0, 0, 1)),
            "period_start": (at - timedelta(seconds=30)).isoformat(),
            "period_end": at.isoformat(),
            "labour_hours": 0.02,
        }
    elif roll < 0.9:
        kind, station = "material_issue", "ST-1"
        payload = {
            "work_order": wo,
            "operation": "10",
            "item": "BENCH-RAW",
            "lot": f"LOT-{rng.randrange(10)}",
            "quantity": 5,
        }
    else:
        kind, station = "inspection", "ST-2"
        payload = {
            "work_order": wo,
            "operation": "20",
            "inspected": 1,
            "disposition": rng.choice(("accept", "accept", "accept", "scrap")),
            "inspector": "EMP-1",
        }
    return orjson.dumps(
        {
            "v": 1,
            "event_id": str(new_event_id()),
            "edge_id": edge,
            "seq": seq,
            "ts": at.isoformat(),
            "kind": kind,
            "station": station,
            "payload": payload,
        }
    )


def measure(engine: Engine, messages: list[tuple[str, bytes]], what: str) -> float:
    """Events/s through Ingestor.handle; prints progress every few seconds."""
    ingestor = Ingestor(engine, LAYOUT)
    events = 0
    started = last_note = time.perf_counter()
    for i, (topic, raw) in enumerate(messages, start=1):
        outcome = ingestor.handle(topic, raw)
        if outcome.ack is None:
            raise RuntimeError(f"{what}: message {i} was not acknowledged")
        events += outcome.applied
        now = time.perf_counter()
        if now - last_note > 5:
            print(f"  {what}: {events:,} events, {events / (now - started):,.0f}/s", flush=True)
            last_note = now
    return events / (time.perf_counter() - started)


def run_database(label: str, make: Any, args: argparse.Namespace) -> dict[str, Any]:
    edges = _edges(args.edges)
    result: dict[str, Any] = {}
    for stream_name in ("baseline", "live"):
        engine = make(stream_name)
        migrate(engine)
        orders = setup_orders(engine, edges, args.orders)
        if stream_name == "baseline":  # the same stream shape, on work orders central lacks
            orders = {e: [f"X{n}" for n in numbers] for e, numbers in orders.items()}
        messages = stream(edges, orders, args.events, args.batch)
        print(f"{label} {stream_name}: {args.events:,} events from {len(edges)} edges", flush=True)
        rate = measure(engine, messages, f"{label} {stream_name}")
        result[stream_name] = round(rate)
        if stream_name == "live":
            with engine.connect() as conn:
                result["receipts"] = int(
                    conn.execute(
                        select(func.count()).where(stock_moves.c.reason == "receipt")
                    ).scalar_one()
                )
                result["good_booked"] = int(
                    conn.execute(select(func.sum(operation_tasks.c.good))).scalar_one()
                )
                result["orders"] = int(
                    conn.execute(select(func.count()).select_from(production_orders)).scalar_one()
                )
        engine.dispose()
    result["ratio"] = round(result["live"] / result["baseline"], 2)
    result["pass"] = result["live"] >= TARGET
    return result


def main(args: argparse.Namespace) -> int:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="floorsync-bench-ingest-") as tmp:
        figures["sqlite"] = run_database(
            "sqlite", lambda name: make_engine(f"sqlite:///{Path(tmp) / name}.db"), args
        )
    if args.postgres:
        figures["postgresql"] = run_database("postgresql", _pg_maker(args.postgres), args)
    print()
    print(f"{'database':<12}{'baseline ev/s':>15}{'live ev/s':>12}{'ratio':>8}  target 10,000")
    for name, f in figures.items():
        verdict = "PASS" if f["pass"] else "MISS"
        print(
            f"{name:<12}{f['baseline']:>15,}{f['live']:>12,}{f['ratio']:>8.2f}  {verdict}"
            f"  ({f['receipts']:,} receipts, {f['good_booked']:,} good pieces booked)"
        )
    if args.json:
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0 if all(f["pass"] for f in figures.values()) else 1


def _pg_maker(url: str) -> Any:
    """A fresh database per stream on the server of ``url``, dropped again at exit."""
    import atexit
    import uuid

    from sqlalchemy import text

    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def make(name: str) -> Engine:
        db = f"floorsync_bench_{name}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        created.append(db)
        return make_engine(admin.url.set(database=db).render_as_string(hide_password=False))

    def drop() -> None:
        with admin.connect() as conn:
            for db in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()

    atexit.register(drop)
    return make


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    ingest_arguments(parser)
    sys.exit(main(parser.parse_args()))
