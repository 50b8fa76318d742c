"""Bulk after-sales data for ``floorsync bench customers``, on top of ``api_data.populate``.

What the customer side reads, at the scale the order book has: each work order consumed a
bought lot and, one in three, the lot of an earlier work order (a made component, so
genealogy goes several levels deep), was worked by a crew of two at its work center's
station, was inspected once (one in ten with a defect); shipped and closed orders shipped
their lines' lots and were invoiced; tickets and repair orders for a share of customers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select

from central.db.domain import defect_codes, operators, sales_order_lines, sales_orders
from central.db.schema import machine_states
from floorsync.bench.api_data import T0, Say, _day, _when, _write

BOUGHT_LOTS = 5_000


def populate_aftersales(engine: Engine, *, edges: int, say: Say) -> dict[str, Any]:
    """Fill genealogy, shipments, receivables, tickets and repairs; returns sample keys."""
    rng = random.Random(23)
    with engine.connect() as conn:
        lines = conn.execute(
            select(
                sales_order_lines.c.id,
                sales_order_lines.c.sales_order_id,
                sales_order_lines.c.item_id,
                sales_order_lines.c.quantity,
                sales_order_lines.c.unit_price_cents,
                sales_orders.c.customer_id,
                sales_orders.c.status,
                sales_orders.c.created_at,
            ).join(sales_orders, sales_orders.c.id == sales_order_lines.c.sales_order_id)
        ).all()
        customers_n = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
    with engine.begin() as conn:
        conn.execute(
            insert(operators),
            [{"badge": f"EMP-{n:04d}", "name": f"Operator {n}", "skills": []} for n in range(200)],
        )
        conn.execute(
            insert(defect_codes),
            [{"code": f"D{n:02d}", "description": f"Defect {n}"} for n in range(1, 21)],
        )
        conn.execute(
            insert(machine_states),
            [
                {
                    "edge_id": f"plant1/assembly/line{n:02d}/edge1",
                    "machine": f"M-{n}",
                    "station": f"ST-{n}",
                    "state": "running",
                    "since": T0,
                    "seq": 1,
                }
                for n in range(1, edges + 1)
            ],
        )
    work_orders = len(lines)  # api_data makes one production order per line, WO-<line id>

    def edge(n: int) -> str:
        return f"plant1/assembly/line{n % edges + 1:02d}/edge1"

    say(f"writing genealogy for {work_orders:,} work orders")

    def consumption() -> Iterator[tuple[Any, ...]]:
        seq = 0
        for wo in range(1, work_orders + 1):
            at = _when(engine, T0 + timedelta(minutes=5 * wo))
            station = f"ST-{wo % edges + 1}"
            crew = orjson.dumps([f"EMP-{wo % 200:04d}", f"EMP-{(wo + 7) % 200:04d}"]).decode()
            seq += 1
            lot = f"B-{rng.randint(1, BOUGHT_LOTS):05d}"
            yield (f"WO-{wo:07d}", "10", "BOLT", lot, 4.0, station, crew, None, edge(wo), seq, at)
            if wo > 1 and wo % 3 == 0:
                seq += 1
                part = f"WO-{rng.randint(max(1, wo - 5000), wo - 1):07d}"
                yield (
                    f"WO-{wo:07d}",
                    "10",
                    "SUB",
                    part,
                    1.0,
                    station,
                    crew,
                    None,
                    edge(wo),
                    seq,
                    at,
                )

    _write(
        engine,
        "material_consumption",
        (
            "work_order",
            "operation",
            "item",
            "lot",
            "quantity",
            "station",
            "operators",
            "over_issue_approved_by",
            "edge_id",
            "seq",
            "at",
        ),
        consumption(),
        work_orders + work_orders // 3,
        say,
    )

    def crews() -> Iterator[tuple[Any, ...]]:
        for wo in range(1, work_orders + 1):
            at = _when(engine, T0 + timedelta(minutes=5 * wo))
            station = f"ST-{wo % edges + 1}"
            for op in ("10", "20"):
                for badge in (f"EMP-{wo % 200:04d}", f"EMP-{(wo + 7) % 200:04d}"):
                    yield (f"WO-{wo:07d}", op, station, badge, 25, 1, 0.8, at, at)

    _write(
        engine,
        "operation_crews",
        (
            "work_order",
            "operation",
            "station",
            "operator",
            "good",
            "scrap",
            "labour_hours",
            "first_at",
            "last_at",
        ),
        crews(),
        work_orders * 4,
        say,
    )

    def checks() -> Iterator[tuple[Any, ...]]:
        for wo in range(1, work_orders + 1):
            at = _when(engine, T0 + timedelta(minutes=5 * wo + 3))
            bad = wo % 10 == 0
            defects = [{"code": f"D{wo % 20 + 1:02d}", "quantity": 1}] if bad else []
            yield (
                f"WO-{wo:07d}",
                "20",
                5,
                "scrap" if bad else "accept",
                orjson.dumps(defects).decode(),
                f"EMP-{wo % 200:04d}",
                f"WO-{wo:07d}",
                None,
                "sample",
                "fail" if bad else "pass",
                None,
                f"ST-{wo % edges + 1}",
                edge(wo),
                10**7 + wo,
                at,
            )

    _write(
        engine,
        "inspections",
        (
            "work_order",
            "operation",
            "inspected",
            "disposition",
            "defects",
            "inspector",
            "lot",
            "serial",
            "sampling",
            "result",
            "rework_operation",
            "station",
            "edge_id",
            "seq",
            "at",
        ),
        checks(),
        work_orders,
        say,
    )

    shipped = [line for line in lines if line.status in ("shipped", "closed")]
    orders = sorted({line.sales_order_id for line in shipped})
    say(f"writing {len(orders):,} shipments with invoices")
    number_of = {order: n for n, order in enumerate(orders, start=1)}

    def shipment_rows() -> Iterator[tuple[Any, ...]]:
        for order, n in number_of.items():
            yield (
                n,
                f"SH-{n:07d}",
                order,
                _when(engine, T0 + timedelta(days=n % 300)),
                "DHL",
                None,
            )

    _write(
        engine,
        "shipments",
        ("id", "number", "sales_order_id", "shipped_at", "carrier", "tracking"),
        shipment_rows(),
        len(orders),
        say,
    )

    def shipment_line_rows() -> Iterator[tuple[Any, ...]]:
        for line in shipped:  # the line's finished lot is its work order's number
            shipment = number_of[line.sales_order_id]
            yield (shipment, line.id, line.item_id, f"WO-{line.id:07d}", line.quantity)

    _write(
        engine,
        "shipment_lines",
        ("shipment_id", "sales_order_line_id", "item_id", "lot", "quantity"),
        shipment_line_rows(),
        len(shipped),
        say,
    )
    value: dict[int, int] = {}
    customer_of: dict[int, int] = {}
    for line in shipped:
        value[line.sales_order_id] = value.get(line.sales_order_id, 0) + round(
            line.quantity * line.unit_price_cents
        )
        customer_of[line.sales_order_id] = line.customer_id

    def invoice_rows() -> Iterator[tuple[Any, ...]]:
        for order, n in number_of.items():
            issued = T0 + timedelta(days=n % 300)
            paid = n % 4 != 0
            yield (
                f"INV-{n:07d}",
                customer_of[order],
                order,
                n,
                value[order],
                value[order] if paid else 0,
                _when(engine, issued),
                _day(engine, (issued + timedelta(days=30)).date()),
                "paid" if paid else "open",
            )

    _write(
        engine,
        "invoices",
        (
            "number",
            "customer_id",
            "sales_order_id",
            "shipment_id",
            "amount_cents",
            "paid_cents",
            "issued_at",
            "due_date",
            "status",
        ),
        invoice_rows(),
        len(orders),
        say,
    )

    tickets = customers_n * 2
    say(f"writing {tickets:,} service tickets and {customers_n // 2:,} repair orders")

    def ticket_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, tickets + 1):
            opened = T0 + timedelta(hours=n)
            yield (
                n,
                f"TK-{n:07d}",
                rng.randint(1, customers_n),
                ("complaint", "inquiry", "warranty_claim")[n % 3],
                ("phone", "email", "chat", "portal")[n % 4],
                ("low", "normal", "high", "urgent")[n % 4],
                ("open", "in_progress", "resolved", "closed")[n % 4],
                f"Ticket {n}",
                "",
                _when(engine, opened),
                _when(engine, opened + timedelta(hours=8)),
                _when(engine, opened + timedelta(hours=72)),
            )

    _write(
        engine,
        "service_tickets",
        (
            "id",
            "number",
            "customer_id",
            "kind",
            "channel",
            "priority",
            "status",
            "subject",
            "description",
            "opened_at",
            "response_due",
            "resolution_due",
        ),
        ticket_rows(),
        tickets,
        say,
    )

    def repair_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, customers_n // 2 + 1):
            line = shipped[n % len(shipped)] if shipped else lines[n % len(lines)]
            yield (
                f"RO-{n:07d}",
                line.customer_id,
                ("in_shop", "field")[n % 2],
                ("open", "assigned", "closed")[n % 3],
                line.item_id,
                f"WO-{line.id:07d}",
                "does not start",
                "[]",
                n % 2 == 0,
                _when(engine, T0 + timedelta(days=n % 300)),
            )

    _write(
        engine,
        "repair_orders",
        (
            "number",
            "customer_id",
            "kind",
            "status",
            "item_id",
            "lot",
            "fault",
            "required_skills",
            "under_warranty",
            "opened_at",
        ),
        repair_rows(),
        customers_n // 2,
        say,
    )
    deep = max(3, work_orders - work_orders % 3)  # a multiple of 3: it consumed a made lot
    return {
        "work_orders": work_orders,
        "deep_lot": f"WO-{deep:07d}",
        "bought_lots": BOUGHT_LOTS,
        "sales_orders": len({line.sales_order_id for line in lines}),
    }
