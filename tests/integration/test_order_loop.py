"""The order loop with real processes: sales takes an order over the API, a planner releases
it, stations on the line work it through the edge and the broker, central books the
finished goods, sales ships them and the receivable is raised and paid."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from central.auth import create_user
from central.db import make_engine, migrate
from tests.helpers import EDGE_TOKEN
from tests.integration.conftest import EDGE_ID, Plant, wait_for

pytestmark = pytest.mark.services


def _api(plant: Plant, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=plant.central.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


@pytest.fixture
def stations(plant: Plant) -> Iterator[list[subprocess.Popen[bytes]]]:
    """A station terminal at each station of the line, working the dispatch list."""
    procs = []
    for station in ("ST-10", "ST-20"):
        log = (plant.edge.log.parent / f"station-{station}.log").open("ab")
        procs.append(
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "floorsync", "sim", "station"),
                    *("--edge-url", plant.edge.url, "--station", station),
                    *("--rate", "20", "--poll", "0.2"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "FLOORSYNC_EDGE_TOKEN": EDGE_TOKEN},
            )
        )
        log.close()
    yield procs
    for proc in procs:
        proc.terminate()
        proc.wait(15)


@pytest.mark.parametrize("plant", ["sqlite", "postgresql"], indirect=True)
def test_an_order_goes_from_sale_through_the_floor_to_a_paid_receivable(
    plant: Plant, stations: list[subprocess.Popen[bytes]]
) -> None:
    engine = make_engine(plant.db_url)
    migrate(engine)  # (central has done it; this is a no-op)
    with engine.begin() as conn:
        sales_token = create_user(conn, "sally", ["sales"])
        planner_token = create_user(conn, "pete", ["planner"])
    engine.dispose()
    with _api(plant, planner_token) as planner, _api(plant, sales_token) as sales:
        # the planner's master data: a made, lot-tracked valve in two operations on our line
        for code, stations_at in (("CELL", ["ST-10"]), ("ASSY", ["ST-20"])):
            _ok(
                planner.post(
                    "/api/v1/work-centers",
                    json={"code": code, "name": code, "edge_id": EDGE_ID, "stations": stations_at},
                ),
                201,
            )
        for badge, name, skills in (
            ("EMP-0042", "Anna Lindqvist", ["CELL"]),
            ("EMP-0057", "Jonas Weber", ["ASSY"]),
        ):
            operator = {"badge": badge, "name": name, "skills": skills}
            _ok(planner.post("/api/v1/operators", json=operator), 201)
        _ok(
            planner.post(
                "/api/v1/items",
                json={
                    "code": "VALVE-25",
                    "description": "Ball valve DN25",
                    "kind": "make",
                    "tracking": "lot",
                    "price_cents": 4_990,
                },
            ),
            201,
        )
        routing = [
            {"operation": "10", "sequence": 10, "work_center": "CELL", "run_minutes_per_unit": 1},
            {"operation": "20", "sequence": 20, "work_center": "ASSY", "run_minutes_per_unit": 2},
        ]
        _ok(planner.put("/api/v1/items/VALVE-25/routing", json={"operations": routing}))
        _ok(
            sales.post(
                "/api/v1/customers",
                json={"code": "NORD", "name": "Nordic Pumps", "payment_terms_days": 14},
            ),
            201,
        )

        # sales takes and confirms the order; the planner releases its production order
        order = _ok(
            sales.post(
                "/api/v1/sales-orders",
                json={
                    "customer": "NORD",
                    "type": "make_to_order",
                    "lines": [{"item": "VALVE-25", "quantity": 30}],
                },
                headers={"Idempotency-Key": "order-1"},
            ),
            201,
        )
        number = order["number"]
        confirmed = _ok(sales.post(f"/api/v1/sales-orders/{number}/confirm", json={}))
        [work_order] = confirmed["production_orders"]
        assert planner.post(f"/api/v1/sales-orders/{number}/confirm", json={}).status_code == 403
        _ok(planner.post(f"/api/v1/production-orders/{work_order}/release", json={}))

        # the line works it: the dispatch list reaches the edge, the stations report through
        # the broker, central books the valves into finished goods against the order line
        def status() -> str:
            return str(_ok(sales.get(f"/api/v1/sales-orders/{number}"))["status"])

        wait_for("the order made and ready", lambda: status() == "ready", timeout=120)
        made = _ok(planner.get(f"/api/v1/production-orders/{work_order}"))
        assert made["status"] == "completed" and made["received"] >= 30
        goods = {t["operation"]: t["good"] for t in made["tasks"]}
        assert goods["10"] > 0 and goods["20"] >= 30  # the last operation's count the goods

        shipment = _ok(
            sales.post(
                f"/api/v1/sales-orders/{number}/ship",
                json={"lines": [{"line_no": 1, "quantity": 30}]},
                headers={"Idempotency-Key": "ship-1"},
            ),
            201,
        )
        assert [(line["lot"], line["quantity"]) for line in shipment["lines"]] == [
            (work_order, 30.0)
        ]
        invoices = _ok(sales.get("/api/v1/invoices", params={"customer": "NORD"}))["items"]
        [invoice] = [i for i in invoices if i["number"] == shipment["invoice"]]
        assert invoice["amount_cents"] == invoice["open_cents"] == 30 * 4_990
        assert invoice["status"] == "open"
        _ok(
            sales.post(
                f"/api/v1/invoices/{invoice['number']}/payments",
                json={"amount_cents": 30 * 4_990, "reference": "SEPA 2026-11-30"},
            ),
            201,
        )
        invoices = _ok(sales.get("/api/v1/invoices", params={"customer": "NORD"}))["items"]
        assert [(i["status"], i["open_cents"]) for i in invoices] == [("paid", 0)]
        assert status() == "shipped"
