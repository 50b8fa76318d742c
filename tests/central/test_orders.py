"""The order book, driven by the floor: confirm, reserve, suggest, hold, progress, receive, ship."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select

from central.db.domain import (
    bom_lines,
    customers,
    dispatches,
    inspections,
    invoices,
    items,
    operation_tasks,
    production_orders,
    purchase_suggestions,
    reservations,
    routing_operations,
    sales_order_lines,
    sales_orders,
    stock,
    work_centers,
)
from central.ingest import Ingestor
from central.orders import dispatch, inventory, production, sales, shipping
from central.orders.errors import Conflict, Invalid
from tests.central.conftest import EDGE, LAYOUT, batch, envelope, events_topic

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _insert(conn: Connection, table: Any, **values: Any) -> int:
    return int(conn.execute(insert(table).values(**values)).inserted_primary_key[0])


def company(conn: Connection, *, credit_limit_cents: int | None = None) -> dict[str, int]:
    """A customer, a made valve of two operations, a bought body and a made seal."""
    ids = {
        "customer": _insert(
            conn,
            customers,
            code="ACME",
            name="Acme Pumps",
            credit_limit_cents=credit_limit_cents,
            payment_terms_days=30,
            created_at=NOW,
        ),
        "valve": _insert(
            conn,
            items,
            code="VALVE-50",
            description="Ball valve DN50",
            kind="make",
            tracking="lot",
            price_cents=12_500,
        ),
        "body": _insert(
            conn, items, code="BODY-50", description="Valve body", kind="buy", tracking="lot"
        ),
        "seal": _insert(conn, items, code="SEAL-50", description="Seal", kind="make"),
        "service": _insert(conn, items, code="SVC-INSP", description="Inspection", kind="service"),
    }
    ids["press"] = _insert(
        conn, work_centers, code="PRESS", name="Press", capacity=1, edge_id=EDGE, stations=["ST-10"]
    )
    ids["assembly"] = _insert(
        conn, work_centers, code="ASSY", name="Assembly", edge_id=EDGE, stations=["ST-20"]
    )
    for item, op, seq, wc in (
        ("valve", "10", 10, "press"),
        ("valve", "20", 20, "assembly"),
        ("seal", "10", 10, "press"),
    ):
        _insert(
            conn,
            routing_operations,
            item_id=ids[item],
            operation=op,
            sequence=seq,
            work_center_id=ids[wc],
            run_minutes_per_unit=1.5,
            predecessors=[],
        )
    for component, qty, allowance in (("body", 1.0, 0.0), ("seal", 2.0, 0.5)):
        _insert(
            conn,
            bom_lines,
            item_id=ids["valve"],
            operation="10",
            component_id=ids[component],
            quantity_per_unit=qty,
            scrap_allowance=allowance,
        )
    # 6 bodies on hand in two lots: the older lot is reserved first
    inventory.book(
        conn,
        [
            inventory.Move(ids["body"], "B-002", 4.0, "purchase", "PO-1", to_location="STORES"),
            inventory.Move(ids["body"], "B-001", 2.0, "purchase", "PO-1", to_location="STORES"),
        ],
        NOW,
    )
    return ids


def draft(
    conn: Connection, item: str, quantity: float, type: str = "make_to_order", **line: Any
) -> str:
    """A draft order of ACME's for one line."""
    return sales.create(
        conn,
        customer="ACME",
        type=type,
        lines=[{"item": item, "quantity": quantity, **line}],
        now=NOW,
    )


def one(conn: Connection, query: Any) -> Any:
    return conn.execute(query).one()


def test_confirming_a_make_to_order_line_plans_production_and_material(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = company(conn)
        number = sales.create(
            conn,
            customer="ACME",
            type="make_to_order",
            lines=[{"item": "VALVE-50", "quantity": 10}],
            due_date=date(2026, 12, 15),
            now=NOW,
        )
        result = sales.confirm(conn, number, NOW)
    assert result["status"] == "confirmed"
    # the valve order, and one for the 30 seals (2 per valve + 50 % allowance) nobody stocks
    assert len(result["production_orders"]) == 2
    assert result["reserved"] == [
        {"item": "BODY-50", "lot": "B-001", "location": "STORES", "quantity": 2.0},
        {"item": "BODY-50", "lot": "B-002", "location": "STORES", "quantity": 4.0},
    ]
    assert result["purchase_suggestions"] == [
        {"item": "BODY-50", "quantity": 4.0, "for": result["production_orders"][0]}
    ]
    with engine.connect() as conn:
        valve = one(
            conn,
            select(production_orders).where(
                production_orders.c.number == result["production_orders"][0]
            ),
        )
        assert (valve.item_id, valve.quantity, valve.status) == (ids["valve"], 10, "planned")
        seals = one(
            conn,
            select(production_orders).where(
                production_orders.c.number == result["production_orders"][1]
            ),
        )
        assert (seals.item_id, seals.quantity) == (ids["seal"], 30)
        tasks = conn.execute(
            select(operation_tasks.c.operation, operation_tasks.c.last)
            .where(operation_tasks.c.production_order_id == valve.id)
            .order_by(operation_tasks.c.sequence)
        ).all()
        assert [tuple(t) for t in tasks] == [("10", False), ("20", True)]
        assert conn.execute(select(purchase_suggestions.c.quantity)).scalars().all() == [4.0]
        # a second order finds the bodies taken: all 10 are suggested for purchase
    with engine.begin() as conn:
        second = draft(conn, "VALVE-50", 10)
        assert sales.confirm(conn, second, NOW)["reserved"] == []


def test_an_order_over_the_credit_limit_is_held_with_the_reason(engine: Engine) -> None:
    with engine.begin() as conn:
        company(conn, credit_limit_cents=100_000)  # 1,000.00
        number = sales.create(
            conn,
            customer="ACME",
            type="make_to_order",
            lines=[{"item": "VALVE-50", "quantity": 10}],  # 1,250.00
            now=NOW,
        )
        held = sales.confirm(conn, number, NOW)
    assert held["status"] == "held"
    assert held["hold_reason"] == (
        "credit limit 1,000.00 exceeded: open 0.00 + this order 1,250.00"
    )
    with engine.connect() as conn:
        assert conn.execute(select(production_orders)).all() == []  # nothing planned
    with engine.begin() as conn, pytest.raises(Conflict, match="held"):
        shipping.ship(conn, number, NOW)
    with engine.begin() as conn:
        assert sales.confirm(conn, number, NOW, override_credit=True)["status"] == "confirmed"


def test_bad_orders_are_refused_and_change_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        company(conn)
    for kwargs, code in (
        (
            {"customer": "NOBODY", "lines": [{"item": "VALVE-50", "quantity": 1}]},
            "unknown_customer",
        ),
        ({"customer": "ACME", "lines": [{"item": "NOPE", "quantity": 1}]}, "unknown_item"),
        ({"customer": "ACME", "lines": []}, "no_lines"),
    ):
        with engine.begin() as conn, pytest.raises(Invalid) as caught:
            sales.create(conn, type="make_to_order", now=NOW, **kwargs)
        assert caught.value.code == code
    with engine.begin() as conn, pytest.raises(Invalid, match="technical specs"):
        draft(conn, "VALVE-50", 1, "engineered")
    with engine.connect() as conn:
        assert conn.execute(select(sales_orders)).all() == []


def report(wo: str, op: str, good: int, scrap: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "work_order": wo,
        "operation": op,
        "good": good,
        "scrap": scrap,
        "period_start": "2026-11-23T08:00:00Z",
        "period_end": "2026-11-23T09:00:00Z",
        "labour_hours": 1.5,
        **extra,
    }


def test_the_floor_drives_the_order_to_receipt_shipment_and_receivable(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = company(conn)
        number = draft(conn, "VALVE-50", 10)
        wo = sales.confirm(conn, number, NOW)["production_orders"][0]
        edges = production.release(conn, wo, NOW)
        assert edges == [EDGE]
        dispatch.refresh(conn, edges, NOW)
    with engine.connect() as conn:
        sent = {r.command: r for r in conn.execute(select(dispatches))}
    assert [o["work_order"] for o in sent["dispatch_list"].body["orders"]] == [wo]
    assert {i["item"] for i in sent["master_data"].body["items"]} == {
        "VALVE-50",
        "BODY-50",
        "SEAL-50",
    }

    ingestor = Ingestor(engine, LAYOUT)
    events = [
        envelope(
            1,
            {"work_order": wo, "operation": "10", "item": "BODY-50", "lot": "B-001", "quantity": 2},
            kind="material_issue",
        ),
        envelope(2, report(wo, "10", 10, 1, operation_end=True)),
        envelope(3, report(wo, "20", 6)),
        envelope(
            4,
            {
                "work_order": wo,
                "operation": "20",
                "inspected": 1,
                "disposition": "scrap",
                "defects": [{"code": "LEAK"}],
                "inspector": "EMP-7",
            },
            kind="inspection",
        ),
    ]
    ingestor.handle(events_topic(), batch(*events))
    with engine.connect() as conn:
        task = one(
            conn,
            select(operation_tasks).where(
                operation_tasks.c.work_order == wo, operation_tasks.c.operation == "10"
            ),
        )
        assert (task.good, task.scrap, task.labour_hours, task.status) == (10, 1, 1.5, "done")
        order = one(conn, select(production_orders).where(production_orders.c.number == wo))
        assert (order.status, order.received) == ("in_progress", 5)  # 6 good, 1 rejected
        fg = conn.execute(
            select(stock.c.lot, stock.c.quantity).where(
                stock.c.item_id == ids["valve"], stock.c.location == "FG"
            )
        ).all()
        assert [tuple(r) for r in fg] == [(wo, 5.0)]
        body = conn.execute(
            select(stock.c.quantity).where(stock.c.item_id == ids["body"], stock.c.lot == "B-001")
        ).scalar_one()
        assert body == 0.0
        assert one(conn, select(sales_orders)).status == "in_production"

    # a partial shipment of what is ready raises its invoice
    with engine.begin() as conn:
        shipped = shipping.ship(conn, number, NOW, lines=[{"line_no": 1, "quantity": 5}])
    assert shipped["amount_cents"] == 5 * 12_500
    assert shipped["lines"] == [{"line_no": 1, "item": "VALVE-50", "lot": wo, "quantity": 5.0}]
    with engine.begin() as conn, pytest.raises(Conflict, match="only 0 of 5"):
        shipping.ship(conn, number, NOW, lines=[{"line_no": 1, "quantity": 5}])

    # the rest is made (replaying the same batch changes nothing), then shipped and paid
    ingestor.handle(events_topic(), batch(*events))
    ingestor.handle(events_topic(), batch(envelope(5, report(wo, "20", 5, operation_end=True))))
    with engine.connect() as conn:
        order = one(conn, select(production_orders).where(production_orders.c.number == wo))
        assert (order.status, order.received) == ("completed", 10)
        assert one(conn, select(sales_orders)).status == "ready"
        assert one(conn, select(sales_order_lines)).produced == 10
        listing = one(conn, select(dispatches).where(dispatches.c.command == "dispatch_list"))
        # version 2 said operation 10 was done, version 3 that the order is
        assert listing.body["orders"] == [] and listing.version == 3 and not listing.published
    with engine.begin() as conn:
        rest = shipping.ship(conn, number, NOW)
        assert rest["lines"][0]["quantity"] == 5.0
        assert one(conn, select(sales_orders)).status == "shipped"
        assert conn.execute(select(reservations).where(reservations.c.location == "FG")).all() == []
        shipping.pay(conn, shipped["invoice"], 5 * 12_500, NOW, "bank 4711")
        with pytest.raises(Conflict, match="is paid"):
            shipping.pay(conn, shipped["invoice"], 1, NOW, None)
    with engine.connect() as conn:
        states = {r.number: (r.status, r.amount_cents) for r in conn.execute(select(invoices))}
    assert states == {
        shipped["invoice"]: ("paid", 62_500),
        rest["invoice"]: ("open", 62_500),
    }


def test_cancelling_an_order_releases_its_material_and_planned_work(engine: Engine) -> None:
    with engine.begin() as conn:
        company(conn)
        number = draft(conn, "VALVE-50", 10)
        planned = sales.confirm(conn, number, NOW)["production_orders"]
        sales.cancel(conn, number)
    with engine.connect() as conn:
        assert conn.execute(select(reservations)).all() == []
        assert set(conn.execute(select(purchase_suggestions.c.status)).scalars()) == {"cancelled"}
        states = conn.execute(select(production_orders.c.status)).scalars().all()
        assert states == ["cancelled"] * len(planned)
        # the bodies it had reserved are free for the next order
        assert inventory.available(
            conn, conn.execute(select(items.c.id).where(items.c.code == "BODY-50")).scalar_one()
        ) == [("B-001", 2.0), ("B-002", 4.0)]
    with engine.begin() as conn:
        other = draft(conn, "VALVE-50", 1)
        wo = sales.confirm(conn, other, NOW)["production_orders"][0]
        production.release(conn, wo, NOW)
    with engine.begin() as conn, pytest.raises(Conflict, match="being made"):
        sales.cancel(conn, other)


def test_bad_types_and_quantities_are_refused_naming_the_field(engine: Engine) -> None:
    with engine.begin() as conn:
        company(conn)
    for kwargs, field in (
        ({"type": "barter", "lines": [{"item": "VALVE-50", "quantity": 1}]}, "type"),
        ({"type": "standard", "lines": [{"item": "VALVE-50", "quantity": 0}]}, "lines.0.quantity"),
        (
            {
                "type": "standard",
                "lines": [{"item": "VALVE-50", "quantity": 1, "unit_price_cents": -5}],
            },
            "lines.0.unit_price_cents",
        ),
    ):
        with engine.begin() as conn, pytest.raises(Invalid) as caught:
            sales.create(conn, customer="ACME", now=NOW, **kwargs)
        assert caught.value.field == field


def test_consumption_and_completion_free_reservations_and_scrap_returns_goods(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        ids = company(conn)
        # two seals on the shelf: a made component is taken from finished goods first
        inventory.book(
            conn,
            [inventory.Move(ids["seal"], "", 2.0, "receipt", "WO-0", to_location="FG")],
            NOW,
        )
        number = draft(conn, "VALVE-50", 2)
        confirmed = sales.confirm(conn, number, NOW)
        wo = confirmed["production_orders"][0]
        production.release(conn, wo, NOW)
    # 2 valves need 2 bodies and 6 seals (2 each + 50 %): 2 seals from the shelf, 4 made
    assert {"item": "SEAL-50", "lot": "", "location": "FG", "quantity": 2.0} in confirmed[
        "reserved"
    ]
    assert len(confirmed["production_orders"]) == 2

    def reserved() -> dict[tuple[str, str], float]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(items.c.code, reservations.c.lot, reservations.c.quantity).join(
                    items, items.c.id == reservations.c.item_id
                )
            ).all()
        return {(code, lot): qty for code, lot, qty in rows}

    assert reserved()[("BODY-50", "B-001")] == 2.0
    ingestor = Ingestor(engine, LAYOUT)
    issue = {"work_order": wo, "operation": "10", "item": "BODY-50", "lot": "B-001", "quantity": 1}
    ingestor.handle(events_topic(), batch(envelope(1, issue, kind="material_issue")))
    assert reserved()[("BODY-50", "B-001")] == 1.0  # consumed, so no longer reserved

    ingestor.handle(
        events_topic(),
        batch(
            envelope(2, report(wo, "10", 2, operation_end=True)),
            envelope(3, report(wo, "20", 2, operation_end=True)),
        ),
    )
    with engine.connect() as conn:
        order = one(conn, select(production_orders).where(production_orders.c.number == wo))
        assert (order.status, order.received) == ("completed", 2)
    left = reserved()
    assert ("BODY-50", "B-001") not in left and ("SEAL-50", "") not in left  # order done
    assert left == {("VALVE-50", wo): 2.0}  # the valves, for the order line

    # an inspection in a later batch scraps one received valve: it leaves finished goods
    check = {
        "work_order": wo,
        "operation": "20",
        "inspected": 1,
        "disposition": "scrap",
        "inspector": "EMP-7",
    }
    ingestor.handle(events_topic(), batch(envelope(4, check, kind="inspection")))
    with engine.connect() as conn:
        order = one(conn, select(production_orders).where(production_orders.c.number == wo))
        assert (order.status, order.received) == ("in_progress", 1)
        fg = conn.execute(
            select(stock.c.quantity).where(
                stock.c.item_id == ids["valve"], stock.c.location == "FG"
            )
        ).scalar_one()
        assert fg == 1.0
        assert one(conn, select(sales_order_lines)).produced == 1
        assert one(conn, select(sales_orders)).status == "in_production"
    assert reserved() == {("VALVE-50", wo): 1.0}


def test_a_bought_item_sold_from_stores_is_reserved_shipped_and_its_shortage_suggested(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        company(conn)
        number = draft(conn, "BODY-50", 8, "standard", unit_price_cents=900)
        confirmed = sales.confirm(conn, number, NOW)
    # 6 on hand in stores are reserved, the 2 missing are suggested for this order line
    assert sum(r["quantity"] for r in confirmed["reserved"]) == 6.0
    assert confirmed["purchase_suggestions"] == [
        {"item": "BODY-50", "quantity": 2.0, "for": number}
    ]
    with engine.begin() as conn:
        shipped = shipping.ship(conn, number, NOW, lines=[{"line_no": 1, "quantity": 6}])
        assert shipped["amount_cents"] == 6 * 900
        body = conn.execute(select(items.c.id).where(items.c.code == "BODY-50")).scalar_one()
        assert inventory.on_hand(conn, body) == 0.0
    with engine.begin() as conn:
        other = draft(conn, "BODY-50", 1, "standard")
        sales.confirm(conn, other, NOW)
        sales.cancel(conn, other)
        statuses = (
            conn.execute(select(purchase_suggestions.c.status).order_by(purchase_suggestions.c.id))
            .scalars()
            .all()
        )
    assert statuses == ["open", "cancelled"]  # the cancelled order's suggestion goes with it


def test_services_are_billed_and_partial_shipments_add_up_to_the_line(engine: Engine) -> None:
    with engine.begin() as conn:
        company(conn)
        # a service contract alone: "shipping" it raises its invoice, nothing leaves stock
        contract = sales.create(
            conn,
            customer="ACME",
            type="service_contract",
            lines=[{"item": "SVC-INSP", "quantity": 1, "unit_price_cents": 50_000}],
            now=NOW,
        )
        assert sales.confirm(conn, contract, NOW)["status"] == "confirmed"
        billed = shipping.ship(conn, contract, NOW)
        assert (billed["amount_cents"], billed["lines"]) == (50_000, [])
        # 3 bodies at 333.5 cents, shipped 1 + 2: 334 + 666 = 1,000.5 -> 1,000 (not 1,001)
        order = draft(conn, "BODY-50", 3, "standard", unit_price_cents=333)
        assert sales.confirm(conn, order, NOW)["status"] == "ready"  # all from stock
        first = shipping.ship(conn, order, NOW, lines=[{"line_no": 1, "quantity": 1}])
        rest = shipping.ship(conn, order, NOW)
        assert first["amount_cents"] + rest["amount_cents"] == 3 * 333
        for lines, code in (
            ([], "no_lines"),
            ([{"line_no": 1, "quantity": 1}] * 2, "duplicate_line"),
        ):
            with pytest.raises(Invalid) as caught:
                shipping.ship(conn, contract, NOW, lines=lines)
            assert caught.value.code == code


def test_a_component_made_for_an_order_is_reserved_for_it_and_consumed_from_goods(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        ids = company(conn)
        number = draft(conn, "VALVE-50", 2)
        valve, seals = sales.confirm(conn, number, NOW)["production_orders"]
        production.release(conn, seals, NOW)
    ingestor = Ingestor(engine, LAYOUT)
    # a scrap inspection before any report books nothing negative
    early = {
        "work_order": seals,
        "operation": "10",
        "inspected": 1,
        "disposition": "scrap",
        "inspector": "E",
    }
    ingestor.handle(events_topic(), batch(envelope(1, early, kind="inspection")))
    ingestor.handle(events_topic(), batch(envelope(2, report(seals, "10", 7, operation_end=True))))
    issue = {
        "work_order": valve,
        "operation": "10",
        "item": "SEAL-50",
        "lot": "BOX-7",
        "quantity": 4,
    }
    ingestor.handle(events_topic(), batch(envelope(3, issue, kind="material_issue")))
    with engine.connect() as conn:
        order = one(conn, select(production_orders).where(production_orders.c.number == seals))
        assert (order.status, order.received) == ("completed", 6)  # 7 good, 1 scrapped
        valve_id = conn.execute(
            select(production_orders.c.id).where(production_orders.c.number == valve)
        ).scalar_one()
        held = (
            conn.execute(
                select(reservations.c.quantity).where(
                    reservations.c.production_order_id == valve_id,
                    reservations.c.item_id == ids["seal"],
                )
            )
            .scalars()
            .all()
        )
        assert held == [2.0]  # 6 made for the valves, 4 of them consumed
        fg = conn.execute(
            select(stock.c.quantity).where(stock.c.item_id == ids["seal"], stock.c.location == "FG")
        ).scalar_one()
        assert fg == 2.0
        assert (
            conn.execute(
                select(stock.c.quantity).where(
                    stock.c.item_id == ids["seal"], stock.c.location == "STORES"
                )
            ).all()
            == []
        )


def test_rework_sends_pieces_back_to_an_earlier_operation_which_runs_again(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        company(conn)
        wo = sales.confirm(conn, draft(conn, "VALVE-50", 4), NOW)["production_orders"][0]
        dispatch.refresh(conn, production.release(conn, wo, NOW), NOW)
    check = {
        "work_order": wo,
        "operation": "20",
        "inspected": 2,
        "disposition": "rework",
        "defects": [{"code": "LEAK", "quantity": 2}],
        "inspector": "EMP-7",
        "check": "full",
        "result": "fail",
        "rework_operation": "10",
    }
    Ingestor(engine, LAYOUT).handle(
        events_topic(),
        batch(
            envelope(1, report(wo, "10", 4, operation_end=True)),
            envelope(2, check, kind="inspection"),
        ),
    )
    with engine.connect() as conn:
        tasks = {
            t.operation: t
            for t in conn.execute(select(operation_tasks).where(operation_tasks.c.work_order == wo))
        }
        assert (tasks["10"].status, tasks["10"].rework) == ("running", 2)
        assert (tasks["20"].inspected, tasks["20"].rework) == (2, 0)
        row = one(conn, select(inspections))
        assert (row.sampling, row.result, row.rework_operation) == ("full", "fail", "10")
        listing = one(conn, select(dispatches).where(dispatches.c.command == "dispatch_list"))
        [order] = [o for o in listing.body["orders"] if o["work_order"] == wo]
        assert order["operations"][0]["status"] == "running"  # the edge sees it open again
