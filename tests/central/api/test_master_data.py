"""Customers, items, calendars, work centers, routings, BOMs, defect codes, operators."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from central.api.items import ItemKind, Tracking
from central.api.production_orders import ProductionStatus
from central.api.sales_orders import OrderStatus, OrderType
from central.db import domain
from tests.central.api.conftest import Api, plant


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def test_the_apis_vocabulary_is_the_domains() -> None:
    assert get_args(ItemKind) == domain.ITEM_KINDS
    assert get_args(Tracking) == domain.TRACKING
    assert get_args(OrderType) == domain.ORDER_TYPES
    assert get_args(OrderStatus) == domain.ORDER_STATES
    assert get_args(ProductionStatus) == domain.PRODUCTION_STATES


def test_master_data_round_trip(api: Api) -> None:
    plant(api)
    api.ok(api.post("/customers/ACME/contacts", {"name": "Jo", "role": "buyer"}, user="sales"), 201)
    api.ok(
        api.post(
            "/calendars",
            {
                "code": "DAY",
                "shifts": [{"weekday": 0, "start": "06:00", "end": "14:00"}],
                "holidays": ["2026-12-25", "2026-12-25"],
            },
            user="planner",
        ),
        201,
    )
    center = {"name": "Welding", "capacity": 2, "calendar": "DAY", "edge_id": "p/a/l/e"}
    api.ok(api.put("/work-centers/WELD", center, user="planner"))
    api.ok(api.post("/defect-codes", {"code": "LEAK", "description": "Leaks"}, user="planner"), 201)
    api.ok(
        api.post(
            "/operators", {"badge": "EMP-7", "name": "Ann", "skills": ["WELD"]}, user="planner"
        ),
        201,
    )

    customer = api.ok(api.get("/customers/ACME", user="sales"))
    assert customer["exposure_cents"] == 0
    assert [c["name"] for c in customer["contacts"]] == ["Jo"]
    # credit is for sales and admin: service reads the account without it, and is told so
    seen_by_service = api.ok(api.get("/customers/ACME", user="service"))
    assert seen_by_service["hidden_fields"] == ["credit_limit_cents", "exposure_cents"]
    assert "exposure_cents" not in seen_by_service and "credit_limit_cents" not in seen_by_service
    assert seen_by_service["contacts"] == customer["contacts"]
    listed = api.ok(api.get("/customers", user="planner"))["items"]
    assert all("credit_limit_cents" not in c for c in listed)
    assert api.ok(api.get("/calendars/DAY"))["holidays"] == ["2026-12-25"]
    assert api.ok(api.get("/work-centers/WELD")) == {
        "code": "WELD",
        "name": "Welding",
        "capacity": 2,
        "calendar": "DAY",
        "edge_id": "p/a/l/e",
        "stations": [],
    }
    routing = api.ok(api.get("/items/FRAME/routing"))
    assert [
        (o["operation"], o["work_center"], o["predecessors"]) for o in routing["operations"]
    ] == [
        ("10", "WELD", []),
        ("20", "WELD", ["10"]),
    ]
    bom = api.ok(api.get("/items/FRAME/bom"))
    assert [(line["component"], line["quantity_per_unit"]) for line in bom["lines"]] == [
        ("BOLT", 4.0),
        ("TUBE", 2.0),
    ]
    assert api.ok(api.get("/operators/EMP-7"))["skills"] == ["WELD"]
    assert api.ok(api.get("/defect-codes"))["items"] == [{"code": "LEAK", "description": "Leaks"}]
    item = api.ok(api.put("/items/BOLT", {"description": "M8 bolt", "kind": "buy"}, user="planner"))
    assert (item["description"], item["price_cents"]) == ("M8 bolt", 0)


@pytest.mark.parametrize(
    ("path", "body", "where", "message"),
    [
        ("/customers", {"code": "ACME"}, "body.name", "Field required"),
        ("/customers", {"code": "A C", "name": "x"}, "body.code", "String should match pattern"),
        ("/customers", {"code": "A", "name": "x", "colour": 1}, "body.colour", "Extra inputs"),
        (
            "/customers",
            {"code": "A", "name": "x", "credit_limit_cents": -1},
            "body.credit_limit_cents",
            "Input should be greater than or equal to 0",
        ),
        (
            "/items",
            {"code": "A", "description": "x", "kind": "rent"},
            "body.kind",
            "Input should be 'make', 'buy' or 'service'",
        ),
        (
            "/work-centers",
            {"code": "W", "name": "x", "edge_id": "a/b"},
            "body.edge_id",
            "Value error, an edge id is site/area/line/edge",
        ),
        (
            "/work-centers",
            {"code": "W", "name": "x", "capacity": 0},
            "body.capacity",
            "Input should be greater than or equal to 1",
        ),
        (
            "/calendars",
            {"code": "C", "shifts": [{"weekday": 7, "start": "06:00", "end": "14:00"}]},
            "body.shifts.0.weekday",
            "Input should be less than or equal to 6",
        ),
        (
            "/sales-orders",
            {"customer": "ACME", "type": "standard", "lines": []},
            "body.lines",
            "List should have at least 1 item",
        ),
        (
            "/sales-orders",
            {"customer": "ACME", "type": "standard", "lines": [{"item": "FRAME", "quantity": 0}]},
            "body.lines.0.quantity",
            "Input should be greater than 0",
        ),
        ("/production-orders", {"item": "FRAME"}, "body.quantity", "Field required"),
    ],
)
def test_validation_errors_name_the_field(
    shared_api: Api, path: str, body: dict[str, Any], where: str, message: str
) -> None:
    found = error(shared_api.post(path, body), 422)

    assert found["code"] == "invalid_request"
    assert found["message"].startswith(f"{where}: {message}"), found["message"]
    assert found["details"][0]["where"] == where


@pytest.fixture(scope="module")
def planted(shared_api: Api) -> Api:
    plant(shared_api)
    gtin = {"description": "Tube", "kind": "buy", "gtin": "09501101530003"}
    shared_api.ok(shared_api.put("/items/TUBE", gtin, user="planner"))
    return shared_api


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "field"),
    [
        (
            "POST",
            "/sales-orders",
            {"customer": "NOBODY", "type": "standard", "lines": [{"item": "FRAME", "quantity": 1}]},
            422,
            "unknown_customer",
            "customer",
        ),
        (
            "POST",
            "/sales-orders",
            {"customer": "ACME", "type": "standard", "lines": [{"item": "NOPE", "quantity": 1}]},
            422,
            "unknown_item",
            "lines.0.item",
        ),
        ("POST", "/customers", {"code": "ACME", "name": "again"}, 409, "exists", "code"),
        (
            "POST",
            "/items",
            {"code": "NEW", "description": "x", "kind": "buy", "gtin": "09501101530003"},
            409,
            "exists",
            "gtin",
        ),
        (
            "POST",
            "/operators",
            {"badge": "E", "name": "x", "skills": ["WELD", "PAINT"]},
            422,
            "unknown_work_center",
            "skills.1",
        ),
        (
            "POST",
            "/work-centers",
            {"code": "W2", "name": "x", "calendar": "NIGHT"},
            422,
            "unknown_calendar",
            "calendar",
        ),
        ("POST", "/production-orders", {"item": "BOLT", "quantity": 1}, 422, "not_made", "item"),
        ("PUT", "/items/BOLT/routing", {"operations": []}, 422, "not_made", "item"),
        (
            "PUT",
            "/items/FRAME/routing",
            {
                "operations": [
                    {
                        "operation": "10",
                        "sequence": 1,
                        "work_center": "NOPE",
                        "run_minutes_per_unit": 1,
                    }
                ]
            },
            422,
            "unknown_work_center",
            "operations.0.work_center",
        ),
        (
            "PUT",
            "/items/FRAME/routing",
            {
                "operations": [
                    {
                        "operation": "10",
                        "sequence": 1,
                        "work_center": "WELD",
                        "run_minutes_per_unit": 1,
                        "predecessors": ["5"],
                    }
                ]
            },
            422,
            "unknown_predecessor",
            "operations.0.predecessors.0",
        ),
        (
            "PUT",
            "/items/FRAME/routing",
            {
                "operations": [
                    {
                        "operation": "20",
                        "sequence": 1,
                        "work_center": "WELD",
                        "run_minutes_per_unit": 1,
                    }
                ]
            },
            409,
            "bom_uses_operation",
            "operations",
        ),
        (
            "PUT",
            "/items/FRAME/bom",
            {"lines": [{"operation": "30", "component": "BOLT", "quantity_per_unit": 1}]},
            422,
            "unknown_operation",
            "lines.0.operation",
        ),
        (
            "PUT",
            "/items/FRAME/bom",
            {"lines": [{"operation": "10", "component": "FRAME", "quantity_per_unit": 1}]},
            422,
            "bom_cycle",
            "lines.0",
        ),
    ],
)
def test_refusals_name_the_field(
    planted: Api,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    request = planted.post if method == "POST" else planted.put

    found = error(request(path, body), status)

    assert (found["code"], found["details"]) == (code, {"field": field})


def test_unknown_things_are_404(shared_api: Api) -> None:
    for path in ("/customers/NOBODY", "/items/NOPE/routing", "/sales-orders/SO-9", "/invoices/X"):
        assert shared_api.get(path).json()["error"]["code"] == "not_found", path
    found = error(shared_api.put("/items/NOPE", {"description": "x", "kind": "buy"}), 404)
    assert found == {"code": "not_found", "message": "no item 'NOPE'"}
