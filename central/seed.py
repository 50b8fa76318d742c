"""The demo company: a maker of valves and pump parts, its customers, one line and its order book.

``load_demo_company`` fills an order service with believable data for the demo and for
trying the API: customers with contacts and credit, made / bought / service items, BOMs
and routings over three work centers on one edge's stations, a two-shift calendar,
defect codes, operators, stock, and orders in every state. Orders, production, stock,
shipments and payments go through the domain functions; master data has none yet and
its rows (central.seed_data) are inserted as they are. What the line made before today
is folded in through ``progress.apply`` as the floor would have reported it (``seq`` 0:
those events never passed through an edge's outbox).

Lots of bought components are named ``<item>-L1`` .. ``-L3``, oldest first: the names
the line-mode station simulator issues. Loading is deterministic for a given ``now``
and does nothing when the company is already there.

    python -m central.seed --database sqlite:///var/demo/central.db \
        --edge-id plant1/assembly/line1/edge1
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from biip.checksums import gs1_standard_check_digit
from sqlalchemy import Connection, func, insert, select, update

from central.aftersales import rfm
from central.db import make_engine, migrate
from central.db.domain import (
    bom_lines,
    calendars,
    contacts,
    customers,
    defect_codes,
    dispatches,
    invoices,
    items,
    operation_tasks,
    operators,
    production_orders,
    reservations,
    routing_operations,
    sales_orders,
    work_centers,
)
from central.ingest import Event
from central.orders import dispatch, inventory, production, progress, sales, shipping
from central.seed_data import (
    BOM,
    CONTACTS,
    CUSTOMERS,
    DEFECT_CODES,
    ENGINEERED_SPECS,
    GS1_COMPANY_PREFIX,
    ITEMS,
    OPENING_STOCK,
    OPERATORS,
    PURCHASES,
    ROUTINGS,
    STATIONS,
    WORK_CENTERS,
)
from central.seed_service import load_sales_pipeline, load_service_desk
from protocols.contract import payload_model

__all__ = ["MARKER", "STATIONS", "load_demo_company", "summary"]

RFM_WINDOW_DAYS = 365
MARKER = "NORDHYD"  # the first demo customer: when it exists, the company is loaded
SEED = 2611


def gtin(item_ref: str, company_prefix: str = GS1_COMPANY_PREFIX) -> str:
    """A GTIN-14 (indicator 0) for an item reference under the company prefix."""
    body = f"0{company_prefix}{item_ref}"
    return body + str(gs1_standard_check_digit(body))


def load_demo_company(conn: Connection, *, edge_id: str, now: datetime) -> dict[str, Any]:
    """Load the demo company with its line on ``edge_id``; nothing when it is already there."""
    exists = conn.execute(select(customers.c.id).where(customers.c.code == MARKER)).first()
    if exists is None:
        rng = random.Random(SEED)
        ids = _master_data(conn, edge_id, now)
        _stock(conn, ids, now)
        _order_book(conn, ids, edge_id, now, rng)
        load_service_desk(conn, now)
        load_sales_pipeline(conn, now)
        # segments at once, not at the nightly run: the customer 360 shows them
        rfm.compute(conn, now, RFM_WINDOW_DAYS, "on_demand")
    return {"loaded": exists is None, "edge_id": edge_id, **summary(conn, now)}


def summary(conn: Connection, now: datetime) -> dict[str, Any]:
    """What the order book holds: counts by state, what each edge was dispatched."""

    def by_status(table: Any) -> dict[str, int]:
        rows = conn.execute(select(table.c.status, func.count()).group_by(table.c.status))
        return {status: int(n) for status, n in sorted(rows.all())}

    dispatched = {
        row.edge_id: [o["work_order"] for o in row.body["orders"]]
        for row in conn.execute(select(dispatches).where(dispatches.c.command == "dispatch_list"))
    }
    overdue = conn.execute(
        select(func.count()).where(invoices.c.status == "open", invoices.c.due_date < now.date())
    ).scalar_one()
    return {
        "customers": conn.execute(select(func.count()).select_from(customers)).scalar_one(),
        "items": conn.execute(select(func.count()).select_from(items)).scalar_one(),
        "sales_orders": by_status(sales_orders),
        "production_orders": by_status(production_orders),
        "invoices": by_status(invoices),
        "overdue_invoices": overdue,
        "dispatched": dispatched,
    }


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(table), rows)


def _master_data(conn: Connection, edge_id: str, now: datetime) -> dict[str, int]:
    created = now - timedelta(days=400)
    _insert(conn, customers, [{**c, "created_at": created} for c in CUSTOMERS])
    customer_ids = dict(conn.execute(select(customers.c.code, customers.c.id)).all())
    _insert(
        conn,
        contacts,
        [
            {"customer_id": customer_ids[c], "name": n, "role": r, "email": e, "phone": p}
            for c, n, r, e, p in CONTACTS
        ],
    )
    _insert(
        conn,
        items,
        [
            {
                **{k: v for k, v in row.items() if k != "gtin_ref"},
                "unit": "pcs",
                "gtin": gtin(row["gtin_ref"]) if row["gtin_ref"] else None,
            }
            for row in ITEMS
        ],
    )
    ids: dict[str, int] = dict(conn.execute(select(items.c.code, items.c.id)).all())
    shifts = [
        {"weekday": day, "start": start, "end": end}
        for day in range(5)
        for start, end in (("06:00", "14:00"), ("14:00", "22:00"))
    ]
    year = now.year
    holidays = [
        f"{y}-{md}"
        for y in (year, year + 1)
        for md in ("01-01", "05-01", "12-24", "12-25", "12-26")
    ]
    calendar_id = conn.execute(
        insert(calendars).values(code="2SHIFT", shifts=shifts, holidays=holidays)
    ).inserted_primary_key[0]  # type: ignore[index]
    _insert(
        conn,
        work_centers,
        [
            {
                **wc,
                "calendar_id": calendar_id,
                "edge_id": edge_id,
                "stations": [STATIONS[wc["code"]]],
            }
            for wc in WORK_CENTERS
        ],
    )
    wc_ids = dict(conn.execute(select(work_centers.c.code, work_centers.c.id)).all())
    previous: dict[str, str] = {}
    routing = []
    for item, op, wc, text, setup, run, crew, inspect in ROUTINGS:
        routing.append(
            {
                "item_id": ids[item],
                "operation": op,
                "sequence": int(op),
                "description": text,
                "work_center_id": wc_ids[wc],
                "setup_minutes": float(setup),
                "run_minutes_per_unit": run,
                "crew_size": crew,
                "inspection_required": inspect,
                "predecessors": [previous[item]] if item in previous else [],
            }
        )
        previous[item] = op
    _insert(conn, routing_operations, routing)
    _insert(
        conn,
        bom_lines,
        [
            {
                "item_id": ids[parent],
                "operation": op,
                "component_id": ids[component],
                "quantity_per_unit": float(qty),
                "scrap_allowance": allowance,
                "issue_tolerance": tolerance,
            }
            for parent, op, component, qty, allowance, tolerance in BOM
        ],
    )
    _insert(conn, defect_codes, [{"code": c, "description": d} for c, d in DEFECT_CODES])
    _insert(conn, operators, [{"badge": b, "name": n, "skills": s} for b, n, s in OPERATORS])
    return ids


def _stock(conn: Connection, ids: dict[str, int], now: datetime) -> None:
    """Bought components in stores, lot by lot as they were bought; opening finished goods."""
    opening = [
        inventory.Move(ids[item], lot, float(qty), "adjustment", "OPENING", to_location="FG")
        for item, lots in OPENING_STOCK.items()
        for lot, qty in lots
    ]
    inventory.book(conn, opening, now - timedelta(days=130))
    deliveries: dict[int, list[inventory.Move]] = {}
    for item, lots in PURCHASES.items():
        for n, (days_ago, qty) in enumerate(lots, start=1):
            reference = f"PO-{(now - timedelta(days=days_ago)):%y%m}-{ids[item]:03d}"
            move = inventory.Move(
                ids[item], f"{item}-L{n}", float(qty), "purchase", reference, to_location="STORES"
            )
            deliveries.setdefault(days_ago, []).append(move)
    for days_ago in sorted(deliveries, reverse=True):
        inventory.book(conn, deliveries[days_ago], now - timedelta(days=days_ago))


def _order_book(
    conn: Connection, ids: dict[str, int], edge_id: str, now: datetime, rng: random.Random
) -> None:
    """Orders in every state, made in the order they happened."""

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    def due(days: int) -> date:
        return (now + timedelta(days=days)).date()

    def order(
        customer: str, kind: str, lines: list[tuple[str, float]], at: datetime, **kw: Any
    ) -> str:
        return sales.create(
            conn,
            customer=customer,
            type=kind,
            lines=[{"item": item, "quantity": qty} for item, qty in lines],
            now=at,
            **kw,
        )

    def release(work_orders: list[str], at: datetime) -> None:
        for wo in work_orders:
            production.release(conn, wo, at)

    # Shipped months ago, partly paid, now overdue.
    overdue = order("IBERVAL", "standard", [("VLV-BALL-50", 4)], ago(78), due_date=due(-70))
    sales.confirm(conn, overdue, ago(78))
    sent = shipping.ship(conn, overdue, ago(70), carrier="DB Schenker", tracking="DBS-5521907")
    shipping.pay(conn, sent["invoice"], 40_000, ago(35), "SEPA 2026-0412")

    # Shipped, paid in full and closed.
    closed = order(
        "CASCADE",
        "standard",
        [("IMP-BRZ-125", 10), ("VLV-BALL-25", 6)],
        ago(55),
        customer_reference="PO 88213",
    )
    sales.confirm(conn, closed, ago(55))
    sent = shipping.ship(conn, closed, ago(50), carrier="UPS", tracking="1Z999AA10123456784")
    shipping.pay(conn, sent["invoice"], sent["amount_cents"], ago(22), "ACH 7781")
    # No domain function closes a settled order yet.
    conn.execute(
        update(sales_orders).where(sales_orders.c.number == closed).values(status="closed")
    )

    # Made on the line and waiting to ship.
    ready = order(
        "BLUEWTR", "make_to_order", [("VLV-GATE-80", 12)], ago(30), due_date=due(3),
        customer_reference="BW-2026-0917",
    )  # fmt: skip
    made = sales.confirm(conn, ready, ago(29))["production_orders"]
    release(made, ago(12))
    for wo in made:
        _worked_on_the_line(conn, edge_id, wo, ago(10), rng)

    # One line made, the other (a pump and its impeller) on the line now.
    running = order(
        "NORDHYD",
        "make_to_order",
        [("VLV-BALL-50", 20), ("PMP-CN-32-160", 2)],
        ago(21),
        due_date=due(10),
        customer_reference="NH-4471",
    )
    planned = sales.confirm(conn, running, ago(20))["production_orders"]
    valves, pumps = planned[0], planned[1:]
    release([valves], ago(14))
    _worked_on_the_line(conn, edge_id, valves, ago(9), rng)
    release(pumps, ago(2))

    # Shipped last week, invoice not yet due.
    shipped = order("RHEINPMP", "standard", [("VLV-BALL-25", 10)], ago(7), due_date=due(-5))
    sales.confirm(conn, shipped, ago(7))
    shipping.ship(conn, shipped, ago(5), carrier="DHL Freight", tracking="DHL-77310458")

    # Cancelled before it was confirmed.
    cancelled = order("IBERVAL", "make_to_order", [("VLV-GATE-80", 3)], ago(8))
    sales.cancel(conn, cancelled)

    # Confirmed and released to the line.
    poltech = order("POLTECH", "make_to_order", [("VLV-BALL-25", 30)], ago(6), due_date=due(14))
    release(sales.confirm(conn, poltech, ago(5))["production_orders"], ago(1))

    # Engineered: built to the customer's specs, released.
    engineered = sales.create(
        conn,
        customer="ALPCHEM",
        type="engineered",
        lines=[{"item": "VLV-BALL-50", "quantity": 8, "unit_price_cents": 61_000}],
        technical_specs=ENGINEERED_SPECS,
        due_date=due(21),
        customer_reference="ALP-4711",
        now=ago(4),
    )
    release(sales.confirm(conn, engineered, ago(4))["production_orders"], ago(1))

    # Confirmed, planned, not yet released.
    backlog = order("BLUEWTR", "make_to_order", [("VLV-GATE-80", 6)], ago(3), due_date=due(30))
    sales.confirm(conn, backlog, ago(3))

    # Spare impellers made for stock.
    spares = production.create(conn, ids["IMP-BRZ-125"], 24, ago(2), due_date=due(12))
    release([spares], ago(1))

    # Over its customer's credit limit: held.
    held = order("ADRIAFL", "make_to_order", [("VLV-BALL-25", 20)], ago(2), due_date=due(20))
    sales.confirm(conn, held, ago(2))

    # Services: a maintenance contract and a repair, nothing for the floor.
    contract = order(
        "CASCADE", "service_contract", [("SVC-MAINT-Y", 4), ("SVC-COMM", 1)], ago(10),
        customer_reference="MC-2027",
    )  # fmt: skip
    sales.confirm(conn, contract, ago(10))
    repair = order(
        "CASCADE", "repair", [("SVC-REPAIR-H", 6)], ago(3),
        customer_reference="pump s/n PU32-2502-0117",
    )  # fmt: skip
    sales.confirm(conn, repair, ago(3))

    # Drafts: quotes not yet accepted.
    order("RHEINPMP", "standard", [("VLV-BALL-50", 15)], ago(1), due_date=due(28))
    order("NORDHYD", "make_to_order", [("PMP-CN-32-160", 1)], ago(0.5), due_date=due(35))

    dispatch.refresh(conn, [edge_id], now)


def _worked_on_the_line(
    conn: Connection, edge_id: str, work_order: str, start: datetime, rng: random.Random
) -> None:
    """Fold in what the line reported for a whole order: each operation issued, made, checked."""
    order = conn.execute(
        select(production_orders).where(production_orders.c.number == work_order)
    ).one()
    tasks = conn.execute(
        select(operation_tasks, work_centers.c.code.label("work_center"), work_centers.c.stations)
        .join(work_centers, work_centers.c.id == operation_tasks.c.work_center_id)
        .where(operation_tasks.c.production_order_id == order.id)
        .order_by(operation_tasks.c.sequence)
    ).all()
    consumed_at = {
        component: op
        for op, component in conn.execute(
            select(bom_lines.c.operation, bom_lines.c.component_id).where(
                bom_lines.c.item_id == order.item_id
            )
        )
    }
    reserved = conn.execute(
        select(reservations.c.item_id, reservations.c.lot, reservations.c.quantity, items.c.code)
        .join(items, items.c.id == reservations.c.item_id)
        .where(reservations.c.production_order_id == order.id)
        .order_by(reservations.c.id)
    ).all()
    skilled = conn.execute(select(operators.c.badge, operators.c.skills)).all()
    quantity = round(order.quantity)
    events: list[Event] = []
    at = start

    def event(kind: str, station: str, ts: datetime, payload: dict[str, Any]) -> None:
        payload_model(kind).model_validate(payload)  # history reads like the floor's events
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        events.append(Event(0, event_id, kind, station, ts, payload))

    for task in tasks:
        station = task.stations[0]
        crew = sorted(rng.sample([b for b, s in skilled if task.work_center in s], task.crew_size))
        hours = task.setup_minutes / 60 + quantity * task.run_minutes_per_unit / 60
        end = at + timedelta(hours=hours)
        for r in reserved:
            if consumed_at.get(r.item_id) == task.operation:
                issue = {"work_order": work_order, "operation": task.operation, "item": r.code}
                event(
                    "material_issue",
                    station,
                    at,
                    {**issue, "lot": r.lot, "quantity": r.quantity, "operators": crew},
                )
        scrap = rng.choice((0, 0, 1))
        goods = [quantity // len(crew) + (i < quantity % len(crew)) for i in range(len(crew))]
        scraps = [scrap if i == 0 else 0 for i in range(len(crew))]
        report = {
            "work_order": work_order,
            "operation": task.operation,
            "good": quantity,
            "scrap": scrap,
            "period_start": at.isoformat(),
            "period_end": end.isoformat(),
            "labour_hours": round(hours * len(crew), 3),
            "crew": [
                {"operator": op, "good": g, "scrap": s, "labour_hours": round(hours, 3)}
                for op, g, s in zip(crew, goods, scraps, strict=True)
            ],
            "operation_end": True,
        }
        event("production_report", station, end, report)
        if task.inspection_required:
            check = {"work_order": work_order, "operation": task.operation, "inspected": quantity}
            event(
                "inspection",
                station,
                end,
                {**check, "disposition": "accept", "inspector": crew[-1]},
            )
        at = end + timedelta(minutes=30)
    progress.apply(conn, edge_id, events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m central.seed",
        description="Migrate a central database and load the demo company into it.",
    )
    parser.add_argument("--database", required=True, metavar="URL")
    parser.add_argument("--edge-id", required=True, help="site/area/line/name of the line's edge")
    args = parser.parse_args(argv)
    engine = make_engine(args.database)
    try:
        migrate(engine)
        with engine.begin() as conn:
            result = load_demo_company(conn, edge_id=args.edge_id, now=datetime.now(UTC))
    finally:
        engine.dispose()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
