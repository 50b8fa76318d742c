"""The demo company: loads on SQLite and PostgreSQL, every order state, once only, on the line."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from biip.gtin import Gtin
from sqlalchemy import Engine, func, select

from central.aftersales import repairs, tickets
from central.db import make_engine, migrate
from central.db.aftersales import repair_orders, rfm_scores, service_tickets
from central.db.domain import (
    ORDER_STATES,
    customers,
    dispatches,
    invoices,
    items,
    operation_tasks,
    production_orders,
    sales_orders,
    stock,
    stock_moves,
    work_centers,
)
from central.seed import STATIONS, load_demo_company
from tests.central.conftest import EDGE

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def load(engine: Engine) -> dict[str, Any]:
    with engine.begin() as conn:
        return load_demo_company(conn, edge_id=EDGE, now=NOW)


def counts(engine: Engine) -> dict[str, int]:
    tables = (customers, items, sales_orders, production_orders, stock_moves, dispatches)
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }


def test_the_demo_company_has_orders_in_every_state_and_loads_once(engine: Engine) -> None:
    first = load(engine)
    assert first["loaded"] is True
    assert set(first["sales_orders"]) == set(ORDER_STATES)
    assert first["customers"] == 8
    assert first["overdue_invoices"] == 1
    assert set(first["production_orders"]) == {"planned", "released", "completed"}
    before = counts(engine)

    second = load(engine)
    assert second["loaded"] is False
    assert counts(engine) == before
    assert {k: v for k, v in second.items() if k != "loaded"} == {
        k: v for k, v in first.items() if k != "loaded"
    }

    with engine.connect() as conn:
        held = conn.execute(select(sales_orders).where(sales_orders.c.status == "held")).one()
        assert held.hold_reason.startswith("credit limit 1,500.00 exceeded")
        engineered = conn.execute(
            select(sales_orders).where(sales_orders.c.type == "engineered")
        ).one()
        assert engineered.technical_specs["certificate"] == "EN 10204 3.1"
        assert conn.execute(
            select(func.count()).where(sales_orders.c.type == "service_contract")
        ).scalar_one()
        bills = {r.status: r for r in conn.execute(select(invoices).order_by(invoices.c.id))}
        assert set(bills) == {"open", "paid"}
        overdue = conn.execute(
            select(invoices).where(invoices.c.status == "open", invoices.c.due_date < NOW.date())
        ).one()
        assert 0 < overdue.paid_cents < overdue.amount_cents  # partly paid
        # what the line made before today is booked: tasks done, goods received
        assert conn.execute(
            select(func.count()).where(
                operation_tasks.c.good > 0, operation_tasks.c.status == "done"
            )
        ).scalar_one()
        assert not conn.execute(select(stock).where(stock.c.quantity < -1e-9)).all()


def test_bought_items_carry_valid_gtins_and_made_ones_none(sqlite_engine: Engine) -> None:
    load(sqlite_engine)
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(items.c.code, items.c.kind, items.c.gtin)).all()
    for code, kind, gtin in rows:
        if kind == "buy":
            assert len(gtin) == 14 and Gtin.parse(gtin).as_gtin_14() == gtin, code
        else:
            assert gtin is None, code
    assert {kind for _, kind, _ in rows} == {"make", "buy", "service"}


def test_released_orders_are_dispatched_to_the_edge_stations(engine: Engine) -> None:
    summary = load(engine)
    with engine.connect() as conn:
        sent = {
            r.command: r.body
            for r in conn.execute(select(dispatches).where(dispatches.c.edge_id == EDGE))
        }
        released = set(
            conn.execute(
                select(production_orders.c.number).where(production_orders.c.status == "released")
            ).scalars()
        )
        centers = conn.execute(select(work_centers.c.edge_id, work_centers.c.stations)).all()
    assert set(sent) == {"dispatch_list", "master_data"}
    listed = [o["work_order"] for o in sent["dispatch_list"]["orders"]]
    assert set(listed) == released and summary["dispatched"] == {EDGE: listed}
    assert {
        s for o in sent["dispatch_list"]["orders"] for op in o["operations"] for s in op["stations"]
    } == set(STATIONS.values())
    master = sent["master_data"]
    assert master["operators"] and master["defect_codes"] and master["bom"]
    assert any(r["inspection_required"] for r in master["routings"])
    assert all(edge == EDGE for edge, _ in centers)


def test_the_seed_stations_are_the_demo_edge_stations() -> None:
    config = tomllib.loads((ROOT / "floorsync" / "demo_edge.toml").read_text())
    assert {s["name"] for s in config["stations"]} == set(STATIONS.values())


def test_loading_is_deterministic(tmp_path: Path) -> None:
    def orders(name: str) -> list[tuple[Any, ...]]:
        engine = make_engine(f"sqlite:///{tmp_path / name}")
        migrate(engine)
        load(engine)
        with engine.connect() as conn:
            query = select(
                operation_tasks.c.work_order,
                operation_tasks.c.operation,
                operation_tasks.c.good,
                operation_tasks.c.scrap,
                operation_tasks.c.labour_hours,
            ).order_by(operation_tasks.c.id)
            rows = [tuple(r) for r in conn.execute(query)]
        engine.dispose()
        return rows

    assert orders("a.db") == orders("b.db")


def test_the_demo_service_desk_has_a_claim_a_field_repair_and_segments(engine: Engine) -> None:
    load(engine)
    with engine.connect() as conn:
        [ticket] = conn.execute(select(service_tickets.c.number)).scalars()
        claim = tickets.detail(conn, ticket, NOW)
        assert (claim["customer"], claim["kind"], claim["status"]) == (
            "RHEINPMP",
            "warranty_claim",
            "in_progress",
        )
        [repair] = conn.execute(select(repair_orders.c.number)).scalars()
        shown = repairs.detail(conn, repair)
        # the technician of the customer's territory with the skill, not the workshop
        assert (shown["kind"], shown["status"], shown["technician"]["code"]) == (
            "field",
            "assigned",
            "TEC-KLEIN",
        )
        assert shown["ticket"] == ticket
        segments = conn.execute(select(rfm_scores.c.segment)).scalars().all()
        assert len(segments) >= 5  # every customer with an order is scored at load
