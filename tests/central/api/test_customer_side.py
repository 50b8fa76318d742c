"""The customer 360 and the customer's progress link, through the API, as the floor moves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from central.db.aftersales import order_links, rfm_history, rfm_runs, rfm_scores
from central.db.domain import customers
from central.service import CentralSync
from tests.central.api.conftest import Api, plant
from tests.central.api.test_orders import FRAMES, NOW, bolts_on_hand, report
from tests.central.conftest import batch, envelope, events_topic


def frames_in_production(api: Api, engine: Engine) -> tuple[str, str]:
    """ACME's order for 10 frames, confirmed and released: (sales order, work order)."""
    plant(api)
    bolts_on_hand(engine, 100)
    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]
    [wo] = api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))["production_orders"]
    api.ok(api.post(f"/production-orders/{wo}/release", user="planner"))
    return number, wo


def floor(sync: CentralSync, first_seq: int, *events: dict[str, Any]) -> None:
    envelopes = [envelope(first_seq + i, p) for i, p in enumerate(events)]
    sync.ingestor.handle(events_topic(), batch(*envelopes))


def test_the_360_shows_orders_moving_with_the_floor(
    api: Api, engine: Engine, sync: CentralSync
) -> None:
    number, wo = frames_in_production(api, engine)
    api.ok(
        api.post(
            "/customers/ACME/contacts", {"name": "Ann Buyer", "role": "purchasing"}, user="sales"
        ),
        201,
    )

    before = api.ok(api.get("/customers/ACME/overview", user="service"))
    [order] = before["orders"]["items"]
    assert (order["number"], order["status"], order["progress"]) == (number, "confirmed", 0.0)
    assert (before["orders"]["total"], before["orders"]["open"]) == (1, 1)
    assert [c["name"] for c in before["contacts"]] == ["Ann Buyer"]
    assert before["rfm"] is None
    assert before["receivables"] == {"open_cents": 0, "overdue_cents": 0, "invoices": []}

    # operation 10 (2 min a piece) done for 10 frames, operation 20 (1 min) for 4:
    # (10*2 + 4*1) / (10*2 + 10*1) = 24 / 30 of the work
    floor(sync, 1, report(wo, "10", 10, operation_end=True), report(wo, "20", 4))
    moved = api.ok(api.get("/customers/ACME/overview"))
    [order] = moved["orders"]["items"]
    assert order["progress"] == 0.8
    [line] = order["lines"]
    assert [(o["operation"], o["status"], o["good"]) for o in line["operations"]] == [
        ("10", "done", 10),
        ("20", "running", 4),
    ]

    floor(sync, 3, report(wo, "20", 6, operation_end=True))
    shipment = api.ok(
        api.post(f"/sales-orders/{number}/ship", {"carrier": "DHL"}, user="sales"), 201
    )
    done = api.ok(api.get("/customers/ACME/overview"))
    [order] = done["orders"]["items"]
    assert (order["status"], order["progress"]) == ("shipped", 1.0)
    assert [s["number"] for s in done["shipments"]] == [shipment["number"]]
    assert done["receivables"]["open_cents"] == 125_000
    assert done["orders"]["open"] == 0


def test_the_360_shows_the_rfm_segment_and_its_history(api: Api, engine: Engine) -> None:
    plant(api)
    with engine.begin() as conn:
        cid = conn.execute(select(customers.c.id).where(customers.c.code == "ACME")).scalar_one()
        run = conn.execute(
            insert(rfm_runs).values(
                as_of=NOW, window_days=365, trigger="on_demand", customers=1, changed=1, seconds=0.1
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(rfm_scores).values(
                customer_id=cid,
                run_id=run,
                recency_days=3,
                frequency=9,
                monetary_cents=10**7,
                r=5,
                f=5,
                m=5,
                segment="Champions",
                since=NOW,
            )
        )
        conn.execute(
            insert(rfm_history).values(
                customer_id=cid, run_id=run, previous="Loyal", segment="Champions", at=NOW
            )
        )
    rfm = api.ok(api.get("/customers/ACME/overview"))["rfm"]
    assert (rfm["segment"], rfm["r"], rfm["f"], rfm["m"]) == ("Champions", 5, 5, 5)
    assert [(h["previous"], h["segment"]) for h in rfm["history"]] == [("Loyal", "Champions")]


def test_the_360_of_an_unknown_customer_is_404_and_needs_a_token(api: Api) -> None:
    missing = api.get("/customers/NOBODY/overview")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert api.get("/customers/NOBODY/overview", user=None).status_code == 401


def test_a_progress_link_shows_its_order_only_and_stops_when_revoked(
    api: Api, engine: Engine, sync: CentralSync
) -> None:
    number, wo = frames_in_production(api, engine)
    other = api.ok(
        api.post("/sales-orders", {**FRAMES, "customer_reference": "PO-9999"}, user="sales"), 201
    )
    assert api.post(f"/sales-orders/{number}/links", user="planner").status_code == 403
    link = api.ok(
        api.post(f"/sales-orders/{number}/links", {"expires_in_days": 30}, user="sales"), 201
    )
    token = link["token"]
    assert link["path"] == f"/track/{token}" and link["active"] is True

    floor(sync, 1, report(wo, "10", 10, operation_end=True))
    client = api.client
    seen = client.get(f"/api/v1/track/{token}")  # no bearer token: the link is the key
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert (view["order"], view["customer_reference"], view["status"]) == (
        number,
        "PO-4711",
        "in production",
    )
    assert [(line["line_no"], line["progress"]) for line in view["lines"]] == [
        (1, round(20 / 30, 4))
    ]
    # nothing but the order's progress: no prices, lots, work orders, people or other orders
    text = seen.text
    for secret in (
        "price",
        "cents",
        "lot",
        wo,
        "WELD",
        "ST-10",
        other["number"],
        "PO-9999",
        "ACME",
    ):
        assert secret not in text, secret
    page = client.get(f"/track/{token}")
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"

    # a live redraw reads the order again but is no new visit
    redrawn = client.get(f"/api/v1/track/{token}", params={"refresh": "true"}).json()
    assert redrawn | {"as_of": None} == view | {"as_of": None}
    [listed] = api.ok(api.get(f"/sales-orders/{number}/links"))["items"]
    assert (listed["views"], listed["active"]) == (1, True) and "token" not in listed
    revoked = api.ok(api.post(f"/sales-orders/{number}/links/{link['id']}/revoke", user="sales"))
    assert revoked["active"] is False
    gone = client.get(f"/api/v1/track/{token}")
    unknown = client.get(f"/api/v1/track/{'x' * 43}")
    assert gone.status_code == unknown.status_code == 404
    assert gone.json() == unknown.json()  # a revoked link tells nothing an unknown one does not
    assert client.get(f"/api/v1/track/{token}/stream").status_code == 404
    assert client.get("/api/v1/track/short").status_code == 422


def test_an_expired_link_is_refused_like_an_unknown_one(api: Api, engine: Engine) -> None:
    number, _ = frames_in_production(api, engine)
    link = api.ok(
        api.post(f"/sales-orders/{number}/links", {"expires_in_days": 1}, user="sales"), 201
    )
    assert api.client.get(f"/api/v1/track/{link['token']}").status_code == 200
    with engine.begin() as conn:
        conn.execute(update(order_links).values(expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
    expired = api.client.get(f"/api/v1/track/{link['token']}")
    assert (expired.status_code, expired.json()["error"]["code"]) == (404, "not_found")
    [listed] = api.ok(api.get(f"/sales-orders/{number}/links"))["items"]
    assert listed["active"] is False and listed["revoked_at"] is None
    cancelled = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]
    api.ok(api.post(f"/sales-orders/{cancelled}/cancel", user="sales"))
    refused = api.post(f"/sales-orders/{cancelled}/links", user="sales")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "cancelled")
