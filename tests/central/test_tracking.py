"""How far a sales order is, line by line: stock, production, shipments, dates and risk."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from central.db.domain import operation_tasks, production_orders, sales_orders
from central.orders import inventory, sales, shipping
from central.orders.tracking import orders_progress
from tests.central.test_orders import NOW, company

TODAY = NOW.date()


def progress_of(engine: Engine, number: str, today: date = TODAY) -> dict[str, Any]:
    with engine.connect() as conn:
        order_id = conn.execute(
            select(sales_orders.c.id).where(sales_orders.c.number == number)
        ).scalar_one()
        return orders_progress(conn, [order_id], today)[order_id]


def test_a_line_served_from_stock_is_ready_today(engine: Engine) -> None:
    with engine.begin() as conn:
        company(conn)
        number = sales.create(
            conn,
            customer="ACME",
            type="standard",
            lines=[{"item": "BODY-50", "quantity": 5}],
            due_date=date(2026, 12, 31),
            now=NOW,
        )
        assert sales.confirm(conn, number, NOW)["status"] == "ready"
    [line] = progress_of(engine, number)["lines"]
    assert (line["progress"], line["expected_ship"], line["at_risk"]) == (1.0, TODAY, False)


def test_production_progress_weighs_operations_and_an_overdue_line_is_at_risk(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        company(conn)
        number = sales.create(
            conn,
            customer="ACME",
            type="make_to_order",
            lines=[{"item": "VALVE-50", "quantity": 10}],
            due_date=TODAY - timedelta(days=2),
            now=NOW,
        )
        [valves, _seals] = sales.confirm(conn, number, NOW)["production_orders"]
        T = operation_tasks.c
        conn.execute(
            update(operation_tasks)
            .where(T.work_order == valves, T.operation == "10")
            .values(good=10, status="done")
        )
        conn.execute(
            update(operation_tasks)
            .where(T.work_order == valves, T.operation == "20")
            .values(good=5, status="running")
        )
        # planned to finish before today: the plan is stale, the line still ships no earlier
        conn.execute(
            update(production_orders)
            .where(production_orders.c.number == valves)
            .values(planned_end=NOW - timedelta(days=5))
        )
    summary = progress_of(engine, number)
    [line] = summary["lines"]
    # valve ops 10 (done) and 20 (5 of 10), 1.5 min a piece each, and the seal order's one
    # operation (none of its 30 pieces): (10 + 5) * 1.5 / ((10 + 10 + 30) * 1.5)
    assert line["progress"] == 0.3
    assert [(o["work_order"], o["operation"], o["good"]) for o in line["operations"]][:2] == [
        (valves, "10", 10),
        (valves, "20", 5),
    ]
    assert (line["expected_ship"], line["at_risk"]) == (TODAY, True)
    assert summary["at_risk"] is True


def test_each_line_ships_on_its_own_date(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = company(conn)
        inventory.book(
            conn,
            [inventory.Move(ids["body"], "B-003", 10.0, "purchase", "PO-2", to_location="STORES")],
            NOW,
        )
        number = sales.create(
            conn,
            customer="ACME",
            type="standard",
            lines=[{"item": "BODY-50", "quantity": 2}, {"item": "BODY-50", "quantity": 3}],
            due_date=TODAY + timedelta(days=30),
            now=NOW,
        )
        sales.confirm(conn, number, NOW)
        early = NOW - timedelta(days=10)
        shipping.ship(conn, number, early, lines=[{"line_no": 2, "quantity": 3}])
        shipping.ship(conn, number, NOW, lines=[{"line_no": 1, "quantity": 2}])
    first, second = progress_of(engine, number)["lines"]
    assert (first["expected_ship"], second["expected_ship"]) == (TODAY, early.date())
    assert first["progress"] == second["progress"] == 1.0
