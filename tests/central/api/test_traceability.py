"""GET /trace/backward and /trace/forward: any signed-in user; unknown 404, bad lot 422."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.central.aftersales.test_genealogy import plant
from tests.central.api.conftest import Api


def test_a_lot_is_traced_backward_and_forward_by_any_user(api: Api, engine: Engine) -> None:
    made = plant(engine)
    back = api.ok(api.get("/trace/backward", user="service", lot=made["valve"]))
    assert set(back) == {"lot", "serial", "item", "production_order", "purchases", "shipments"}
    order = back["production_order"]
    assert order["work_order"] == made["valve"]
    assert order["made_for"]["customer"] == {"code": "ACME", "name": "Acme Pumps"}
    assert [c["work_order"] for c in order["components"]] == [made["seal"]]
    assert order["components"][0]["materials"][0]["lot"] == "R-7"
    crew = order["operations"][0]["operators"]
    assert [(o["name"], o["good"]) for o in crew] == [("Ana Ruiz", 3), ("Ben Okafor", 1)]
    assert crew[0]["first_at"].startswith("2026-11-23T08:00:00")
    assert back["shipments"][0]["shipment"] == made["shipment"]

    ahead = api.ok(api.get("/trace/forward", user="sales", lot="R-7"))
    assert set(ahead) == {
        "lot",
        "item",
        "production_order",
        "work_orders",
        "lots",
        "shipments",
        "customers",
        "totals",
        "truncated",
    }
    assert [w["work_order"] for w in ahead["work_orders"]] == [made["seal"], made["valve"]]
    assert [c["code"] for c in ahead["customers"]] == ["ACME"]
    assert ahead["totals"]["customers"] == 1

    serial = api.ok(api.get("/trace/backward", user="planner", lot=f"  {made['pump']}-0001 "))
    assert serial["serial"] and serial["lot"] == f"{made['pump']}-0001"


@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_a_trace_needs_a_token(shared_api: Api, direction: str) -> None:
    response = shared_api.get(f"/trace/{direction}", user=None, lot="R-7")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("direction", ["backward", "forward"])
def test_an_unknown_lot_is_404(shared_api: Api, direction: str) -> None:
    response = shared_api.get(f"/trace/{direction}", lot="NO-SUCH-LOT")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "no lot 'NO-SUCH-LOT'"}


@pytest.mark.parametrize("direction", ["backward", "forward"])
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "invalid_request"),
        ({"lot": ""}, "invalid_request"),
        ({"lot": "x" * 65}, "invalid_request"),
        ({"lot": "   "}, "blank"),
    ],
)
def test_a_missing_blank_or_too_long_lot_is_422(
    shared_api: Api, direction: str, params: dict[str, str], code: str
) -> None:
    response = shared_api.get(f"/trace/{direction}", **params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert "lot" in str(error.get("details"))
