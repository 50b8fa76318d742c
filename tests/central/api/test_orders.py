"""The order flow through the API: order, confirm, release, the floor's progress, ship, pay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from central.db.domain import dispatches, items
from central.orders import inventory
from central.service import CentralSync
from tests.central.api.conftest import Api, plant
from tests.central.conftest import EDGE, batch, envelope, events_topic

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FRAMES = {
    "customer": "ACME",
    "type": "make_to_order",
    "due_date": "2026-12-15",
    "customer_reference": "PO-4711",
    "lines": [{"item": "FRAME", "quantity": 10}],
}


def bolts_on_hand(engine: Engine, quantity: float) -> None:
    with engine.begin() as conn:
        bolt = conn.execute(select(items.c.id).where(items.c.code == "BOLT")).scalar_one()
        move = inventory.Move(bolt, "L-1", quantity, "purchase", "PO-1", to_location="STORES")
        inventory.book(conn, [move], NOW)


def report(wo: str, op: str, good: int, **extra: Any) -> dict[str, Any]:
    return {
        "work_order": wo,
        "operation": op,
        "good": good,
        "scrap": 0,
        "period_start": "2026-11-23T08:00:00Z",
        "period_end": "2026-11-23T09:00:00Z",
        "labour_hours": 2.0,
        **extra,
    }


def test_make_to_order_from_order_to_payment(api: Api, engine: Engine, sync: CentralSync) -> None:
    plant(api)
    bolts_on_hand(engine, 100)

    order = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)
    number = order["number"]
    assert (order["status"], order["customer"], order["value_cents"]) == ("draft", "ACME", 125_000)
    assert order["lines"][0] | {"technical_specs": None} == {
        "line_no": 1,
        "item": "FRAME",
        "quantity": 10.0,
        "unit_price_cents": 12_500,
        "due_date": "2026-12-15",
        "technical_specs": None,
        "produced": 0.0,
        "shipped": 0.0,
    }

    # confirming plans the frames, reserves 40 bolts and suggests buying the 20 tubes
    confirmed = api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))
    [wo] = confirmed["production_orders"]
    assert confirmed["status"] == "confirmed"
    assert confirmed["reserved"] == [
        {"item": "BOLT", "lot": "L-1", "location": "STORES", "quantity": 40.0}
    ]
    assert confirmed["purchase_suggestions"] == [{"item": "TUBE", "quantity": 20.0, "for": wo}]
    suggestions = api.ok(api.get("/purchase-suggestions", user="service"))["items"]
    assert [(s["item"], s["quantity"], s["production_order"]) for s in suggestions] == [
        ("TUBE", 20.0, wo)
    ]
    [bolts] = api.ok(api.get("/stock", item="BOLT"))["items"]
    assert (bolts["quantity"], bolts["reserved"], bolts["available"]) == (100.0, 40.0, 60.0)

    detail = api.ok(api.get(f"/sales-orders/{number}", user="supervisor"))
    assert detail["status"] == "confirmed"
    [made] = detail["production_orders"]
    assert (made["number"], made["status"], made["sales_order_line"]) == (wo, "planned", 1)
    assert [(t["operation"], t["status"], t["good"]) for t in made["tasks"]] == [
        ("10", "pending", 0),
        ("20", "pending", 0),
    ]
    assert [(r["item"], r["quantity"], r["production_order"]) for r in detail["reservations"]] == [
        ("BOLT", 40.0, wo)
    ]
    assert detail["shipments"] == []
    # prices and invoices are for sales and admin: the supervisor reads the order without them
    assert detail["hidden_fields"] == [
        "hold_reason",
        "invoices",
        "lines.unit_price_cents",
        "value_cents",
    ]
    assert "unit_price_cents" not in detail["lines"][0] and "invoices" not in detail
    assert api.ok(api.get(f"/sales-orders/{number}", user="sales"))["invoices"] == []

    # releasing writes the edge's new dispatch list; nothing is ready to ship yet
    assert api.post(f"/production-orders/{wo}/release", user="sales").status_code == 403
    released = api.ok(api.post(f"/production-orders/{wo}/release", user="planner"))
    assert released == {"number": wo, "status": "released", "edges": [EDGE]}
    with engine.connect() as conn:
        listing = conn.execute(
            select(dispatches.c.body).where(
                dispatches.c.edge_id == EDGE, dispatches.c.command == "dispatch_list"
            )
        ).scalar_one()
    assert [o["work_order"] for o in listing["orders"]] == [wo]
    again = api.post(f"/production-orders/{wo}/release", user="planner")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_planned")
    refused = api.post(f"/sales-orders/{number}/ship", user="sales")
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "nothing_to_ship",
        "message": f"sales order {number} has nothing ready to ship",
    }

    # the floor makes the frames: the production order shows it, the order is ready
    events = [
        envelope(
            1,
            {"work_order": wo, "operation": "10", "item": "BOLT", "lot": "L-1", "quantity": 40},
            kind="material_issue",
        ),
        envelope(2, report(wo, "10", 10, operation_end=True)),
        envelope(3, report(wo, "20", 10, operation_end=True)),
    ]
    sync.ingestor.handle(events_topic(), batch(*events))
    production = api.ok(api.get(f"/production-orders/{wo}"))
    assert (production["status"], production["received"]) == ("completed", 10.0)
    assert [(t["operation"], t["good"], t["labour_hours"]) for t in production["tasks"]] == [
        ("10", 10, 2.0),
        ("20", 10, 2.0),
    ]
    assert production["material_consumed"] == [{"item": "BOLT", "lot": "L-1", "quantity": 40.0}]
    listed = api.ok(api.get("/production-orders", sales_order=number))["items"]
    assert [(p["number"], p["progress"]) for p in listed] == [
        (wo, {"operations": 2, "operations_done": 2, "good": 10, "scrap": 0})
    ]

    # shipped, invoiced, paid
    shipment = api.ok(
        api.post(f"/sales-orders/{number}/ship", {"carrier": "DHL"}, user="sales"), 201
    )
    assert shipment["lines"] == [{"line_no": 1, "item": "FRAME", "lot": "", "quantity": 10.0}]
    assert api.ok(api.get(f"/shipments/{shipment['number']}")) == shipment
    [invoice] = api.ok(api.get("/invoices", customer="ACME", open=True))["items"]
    assert invoice["number"] == shipment["invoice"]
    assert (invoice["open_cents"], invoice["overdue"]) == (125_000, False)
    paid = api.ok(
        api.post(
            f"/invoices/{invoice['number']}/payments", {"amount_cents": 125_000}, user="sales"
        ),
        201,
    )
    assert (paid["status"], paid["open_cents"], len(paid["payments"])) == ("paid", 0, 1)
    assert api.ok(api.get("/invoices", open=True))["items"] == []
    final = api.ok(api.get(f"/sales-orders/{number}"))
    assert final["status"] == "shipped"
    assert [s["number"] for s in final["shipments"]] == [shipment["number"]]
    assert [(i["number"], i["status"]) for i in final["invoices"]] == [(invoice["number"], "paid")]


def test_a_customer_over_the_credit_limit_is_held_until_an_admin_overrides(api: Api) -> None:
    plant(api, credit_limit_cents=100_00)
    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]

    held = api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))

    assert held == {
        "number": number,
        "status": "held",
        "hold_reason": "credit limit 100.00 exceeded: open 0.00 + this order 1,250.00",
    }
    assert api.ok(api.get("/sales-orders", status="held"))["items"][0]["number"] == number
    assert api.ok(api.get("/production-orders"))["items"] == []
    refused = api.post(f"/sales-orders/{number}/ship", user="sales")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "credit_hold")
    override = {"override_credit": True}
    assert api.post(f"/sales-orders/{number}/confirm", override, user="sales").status_code == 403
    confirmed = api.ok(api.post(f"/sales-orders/{number}/confirm", override, user="admin"))
    assert confirmed["status"] == "confirmed"
    assert len(confirmed["production_orders"]) == 1


def test_cancel_and_production_for_stock(api: Api) -> None:
    plant(api)
    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]

    assert api.ok(api.post(f"/sales-orders/{number}/cancel", user="sales")) == {
        "number": number,
        "status": "cancelled",
    }
    again = api.post(f"/sales-orders/{number}/cancel", user="sales")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_cancellable")

    body = {"item": "FRAME", "quantity": 5, "priority": 2}
    made = api.ok(api.post("/production-orders", body, user="planner"), 201)
    assert (made["status"], made["sales_order"], made["priority"]) == ("planned", None, 2)
    assert [t["operation"] for t in made["tasks"]] == ["10", "20"]
    assert made["planned"]["purchase_suggestions"] == [
        {"item": "BOLT", "quantity": 20.0, "for": made["number"]},
        {"item": "TUBE", "quantity": 10.0, "for": made["number"]},
    ]
    assert api.ok(api.get(f"/production-orders/{made['number']}"))["purchase_suggestions"] == [
        {"id": 1, "item": "BOLT", "quantity": 20.0, "needed_by": None, "status": "open"},
        {"id": 2, "item": "TUBE", "quantity": 10.0, "needed_by": None, "status": "open"},
    ]


def test_the_order_shows_the_work_orders_making_its_components(api: Api) -> None:
    plant(api)
    api.ok(api.post("/items", {"code": "SEAT", "description": "Seat", "kind": "make"}), 201)
    operation = {"operation": "10", "sequence": 10, "work_center": "WELD"}
    api.ok(
        api.put("/items/SEAT/routing", {"operations": [operation | {"run_minutes_per_unit": 1}]})
    )
    seat = {"operation": "20", "component": "SEAT", "quantity_per_unit": 1}
    bom = api.ok(api.get("/items/FRAME/bom"))
    api.ok(api.put("/items/FRAME/bom", {"lines": [*bom["lines"], seat]}))
    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]

    frames, seats = api.ok(api.post(f"/sales-orders/{number}/confirm"))["production_orders"]

    made = api.ok(api.get(f"/sales-orders/{number}"))["production_orders"]
    assert [(m["number"], m["item"], m["sales_order_line"], m["parent"]) for m in made] == [
        (frames, "FRAME", 1, None),
        (seats, "SEAT", None, frames),
    ]
    assert [t["operation"] for t in made[1]["tasks"]] == ["10"]


def test_an_order_names_the_quote_it_came_from(api: Api) -> None:
    plant(api)
    lines = [{"item": "FRAME", "quantity": 2}]
    quote = api.ok(api.post("/quotes", {"customer": "ACME", "lines": lines}, user="sales"), 201)
    number = quote["number"]
    api.ok(api.post(f"/quotes/{number}/submit", user="sales"))
    api.ok(api.post(f"/quotes/{number}/send", user="sales"))
    order = api.ok(api.post(f"/quotes/{number}/accept", user="sales"))["sales_order"]

    assert api.ok(api.get(f"/sales-orders/{order}"))["quote"] == number
    direct = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)
    assert direct["quote"] is None
