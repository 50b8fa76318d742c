"""Synthetic customers and orders of any size, to measure RFM on (``floorsync bench customers``).

Rows go straight into the tables through ``api_data``'s bulk writer, after whatever is
there already: building them through the domain functions would take longer than the
measurement. Every customer orders at least once and a few order most; order moments
spread over two windows before ``as_of``, so some customers have lapsed, and one order in
twenty is a draft or cancelled, which RFM does not count.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select

from central.db.domain import customers, items, sales_order_lines, sales_orders
from floorsync.bench.api_data import LINE_COLUMNS, _when, _write

__all__ = ["AS_OF", "populate"]

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
STATES = ("confirmed", "in_production", "ready", "shipped", "closed")


def populate(
    engine: Engine,
    *,
    customers_count: int = 100_000,
    orders: int = 300_000,
    as_of: datetime = AS_OF,
    span_days: int = 730,
    seed: int = 7,
) -> dict[str, int]:
    """Add ``customers_count`` customers and ``orders`` sales orders of 1-3 lines each,
    created over ``span_days`` before ``as_of``; what was written, by table."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        first_customer = _next_id(conn, customers)
        first_order = _next_id(conn, sales_orders)
        first_line = _next_id(conn, sales_order_lines)
        item_id = conn.execute(
            insert(items)
            .values(code=f"RFM-SYNTH-{first_customer}", description="synthetic", kind="make")
            .returning(items.c.id)
        ).scalar_one()
    created = _when(engine, as_of - timedelta(days=span_days))
    _write(
        engine,
        "customers",
        ("id", "code", "name", "payment_terms_days", "created_at"),
        (
            (first_customer + n, f"RFM{first_customer + n:07d}", f"Customer {n}", 30, created)
            for n in range(customers_count)
        ),
        customers_count,
        _quiet,
    )
    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    line_id = first_line
    for n in range(orders):
        order_id = first_order + n
        # everyone orders once; the rest go mostly to the first customers (u³ skews low)
        customer = n if n < customers_count else int(customers_count * rng.random() ** 3)
        moment = as_of - timedelta(seconds=rng.randrange(span_days * 86_400))
        roll = rng.random()
        status = "draft" if roll < 0.03 else "cancelled" if roll < 0.05 else rng.choice(STATES)
        confirmed = None if status == "draft" else _when(engine, moment)
        order_rows.append(
            (
                order_id,
                f"RS-{order_id:08d}",
                first_customer + customer,
                "standard",
                status,
                _when(engine, moment - timedelta(hours=2)),
                confirmed,
            )
        )
        for line_no in range(1, rng.randint(1, 3) + 1):
            quantity = float(rng.randint(1, 50))
            line_rows.append(
                (line_id, order_id, line_no, item_id, quantity, rng.randint(500, 200_000), 0.0, 0.0)
            )
            line_id += 1
    _write(
        engine,
        "sales_orders",
        ("id", "number", "customer_id", "type", "status", "created_at", "confirmed_at"),
        order_rows,
        len(order_rows),
        _quiet,
    )
    _write(
        engine,
        "sales_order_lines",
        LINE_COLUMNS,
        line_rows,
        len(line_rows),
        _quiet,
    )
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # rows made later take the ids after these
            for table in ("customers", "sales_orders", "sales_order_lines"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    return {
        "customers": customers_count,
        "sales_orders": orders,
        "sales_order_lines": len(line_rows),
    }


def _next_id(conn: Any, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _quiet(_: str) -> None:
    """No progress lines: ``run_rfm`` says once what it writes."""
