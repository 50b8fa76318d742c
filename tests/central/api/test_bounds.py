"""Parameters that size the work a request causes are bounded: too big is a 422 that
changes nothing, not a process that grows until it is killed.

The schema fuzz twice grew central to ~24 GB: a work center of 10**8 machines, which a
schedule run turned into one load timeline per machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.central.api.conftest import Api, plant


@pytest.fixture(scope="module")
def floor(shared_api: Api) -> Iterator[Api]:
    plant(shared_api)
    pump = {"code": "PUMP", "description": "Pump", "kind": "make", "tracking": "serial"}
    shared_api.ok(shared_api.post("/items", pump, user="planner"), 201)
    routing = {
        "operations": [
            {"operation": "10", "sequence": 10, "work_center": "WELD", "run_minutes_per_unit": 30}
        ]
    }
    shared_api.ok(shared_api.put("/items/PUMP/routing", routing, user="planner"))
    shared_api.ok(shared_api.post("/production-orders", {"item": "FRAME", "quantity": 5}), 201)
    yield shared_api


def refused(response: Any, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert field in response.text, error
    return dict(error)


def test_a_work_center_of_a_billion_machines_is_refused_and_scheduling_still_runs(
    floor: Api,
) -> None:
    before = floor.ok(floor.get("/work-centers/WELD"))
    body = {"name": "Welding", "capacity": 10**9, "edge_id": before["edge_id"]}
    refused(floor.put("/work-centers/WELD", body, user="planner"), "capacity")
    assert floor.ok(floor.get("/work-centers/WELD")) == before
    plan = floor.ok(floor.post("/schedule-runs", {}, user="planner"))
    assert plan["kpis"]["machines_used"] <= 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/production-orders", {"item": "FRAME", "quantity": 1e12}, "quantity"),
        ("/production-orders", {"item": "FRAME", "quantity": 1, "priority": 10**12}, "priority"),
        (
            "/sales-orders",
            {
                "customer": "ACME",
                "type": "make_to_order",
                "lines": [{"item": "FRAME", "quantity": 1e12}],
            },
            "quantity",
        ),
        (
            "/sales-orders",
            {
                "customer": "ACME",
                "type": "make_to_order",
                "lines": [{"item": "FRAME", "quantity": 1}] * 501,
            },
            "lines",
        ),
        ("/work-centers", {"code": "W2", "name": "W", "stations": ["S"] * 101}, "stations"),
        (
            "/calendars",
            {"code": "C2", "name": "C", "shifts": [], "holidays": ["2026-01-01"] * 2001},
            "holidays",
        ),
        (
            "/items",
            {"code": "I2", "description": "I", "kind": "buy", "lead_time_days": 10**9},
            "lead_time_days",
        ),
    ],
)
def test_an_oversized_create_is_refused_and_makes_nothing(
    floor: Api, path: str, body: dict[str, Any], field: str
) -> None:
    listed = floor.ok(floor.get(path, limit=500))
    refused(floor.post(path, body, user="admin"), field)
    assert floor.ok(floor.get(path, limit=500)) == listed


def test_a_routing_of_a_crew_of_a_million_is_refused(floor: Api) -> None:
    before = floor.ok(floor.get("/items/FRAME/routing"))
    op = {"operation": "10", "sequence": 10, "work_center": "WELD", "run_minutes_per_unit": 2}
    for field, value in (("crew_size", 10**6), ("run_minutes_per_unit", 1e300)):
        refused(floor.put("/items/FRAME/routing", {"operations": [op | {field: value}]}), field)
    assert floor.ok(floor.get("/items/FRAME/routing")) == before


def test_a_serial_tracked_order_gets_at_most_ten_thousand_serials(floor: Api) -> None:
    listed = floor.ok(floor.get("/production-orders", limit=500))
    response = floor.post("/production-orders", {"item": "PUMP", "quantity": 10_001})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "too_many_serials"
    assert floor.ok(floor.get("/production-orders", limit=500)) == listed
    # through a sales order: the confirmation is refused and the order stays a draft
    order = {
        "customer": "ACME",
        "type": "make_to_order",
        "lines": [{"item": "PUMP", "quantity": 50_000}],
    }
    number = floor.ok(floor.post("/sales-orders", order, user="sales"), 201)["number"]
    response = floor.post(f"/sales-orders/{number}/confirm", {}, user="sales")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "too_many_serials"
    assert floor.ok(floor.get(f"/sales-orders/{number}"))["status"] == "draft"
    assert floor.ok(floor.get("/production-orders", limit=500)) == listed


def test_a_forecast_in_the_year_9999_is_refused_not_a_server_error(floor: Api) -> None:
    response = floor.get("/forecast", user="sales", **{"from": "9999-12-31"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "bad_date"
