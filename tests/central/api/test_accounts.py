"""The account around a customer, through the API: duplicates refused and merged, groups,
the decision map, tags, the timeline and the audit history of every change."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from central.db.domain import customers, sales_orders
from central.service import CentralSync
from tests.central.api.conftest import Api, plant
from tests.central.api.test_orders import FRAMES, bolts_on_hand


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()["error"]
    return found


def test_a_customer_that_looks_like_another_is_refused_until_asked_for(api: Api) -> None:
    body = {"code": "MUELLER", "name": "Müller Hydraulik GmbH", "tax_id": "DE 123456789"}
    api.ok(api.post("/customers", body, user="sales"), 201)
    for twin, reasons in (
        ({"code": "MUELLER2", "name": "MUELLER HYDRAULIK G.m.b.H."}, ["same_name"]),
        ({"code": "MH", "name": "Muller Hydraulics Ltd"}, ["similar_name"]),
        ({"code": "X1", "name": "Other", "tax_id": "de123456789"}, ["tax_id"]),
    ):
        refused = error(api.post("/customers", twin, user="sales"), 409)
        assert refused["code"] == "possible_duplicate", twin
        [candidate] = refused["details"]["candidates"]
        assert (candidate["code"], candidate["reasons"]) == ("MUELLER", reasons)
    assert api.ok(api.get("/customers"))["items"][0]["code"] == "MUELLER"
    assert len(api.ok(api.get("/customers"))["items"]) == 1  # nothing was made
    found = api.ok(api.get("/customer-duplicates", name="müller hydraulik"))["items"]
    assert [c["code"] for c in found] == ["MUELLER"]
    allowed = {"code": "MUELLER2", "name": "Müller Hydraulik", "allow_duplicate": True}
    api.ok(api.post("/customers", allowed, user="sales"), 201)


def test_merging_moves_orders_contacts_and_subsidiaries_and_keeps_history(
    api: Api, engine: Engine
) -> None:
    plant(api)
    bolts_on_hand(engine, 100)
    dup = {"code": "ACME2", "name": "Acme Pumps Inc", "allow_duplicate": True}
    api.ok(api.post("/customers", dup, user="sales"), 201)
    child = {"code": "ACME-SUB", "name": "Acme Pumps Polska", "parent": "ACME2"}
    api.ok(api.post("/customers", child, user="sales"), 201)
    api.ok(api.post("/customers/ACME2/contacts", {"name": "Eve"}, user="sales"), 201)
    order = api.ok(api.post("/sales-orders", {**FRAMES, "customer": "ACME2"}, user="sales"), 201)
    assert api.post("/customers/ACME2/merge", {"into": "ACME"}, user="sales").status_code == 403

    merged = api.ok(api.post("/customers/ACME2/merge", {"into": "ACME"}, user="admin"))
    assert merged["moved"]["sales_orders.customer_id"] == 1
    assert merged["moved"]["contacts.customer_id"] == 1
    assert api.get("/customers/ACME2").status_code == 404
    acme = api.ok(api.get("/customers/ACME", user="sales"))
    assert [c["name"] for c in acme["contacts"]] == ["Eve"]
    assert acme["group"]["subsidiaries"] == [{"code": "ACME-SUB", "name": "Acme Pumps Polska"}]
    assert api.ok(api.get(f"/sales-orders/{order['number']}"))["customer"] == "ACME"
    history = api.ok(api.get("/history/customer/ACME"))["items"]
    assert history[0]["action"] == "merged" and history[0]["user"] == "admin"
    assert history[0]["changes"]["merged_from"] == [None, "ACME2"]
    assert api.ok(api.get("/history/customer/ACME2"))["items"][0]["action"] == "merged_away"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(customers)).scalar_one() == 2


def test_a_group_cannot_loop_and_shows_parents_and_subsidiaries(api: Api) -> None:
    for code, parent in (("HOLD", None), ("MID", "HOLD"), ("LEAF", "MID")):
        body = {"code": code, "name": f"{code} company", "parent": parent}
        api.ok(api.post("/customers", body, user="sales"), 201)
    leaf = api.ok(api.get("/customers/LEAF"))["group"]
    assert [p["code"] for p in leaf["parents"]] == ["MID", "HOLD"]
    looped = api.put("/customers/HOLD", {"name": "HOLD company", "parent": "LEAF"}, user="sales")
    assert error(looped, 422)["code"] == "parent_loop"
    assert api.ok(api.get("/customers/HOLD"))["parent"] is None


def test_every_change_to_a_customer_and_an_order_is_in_its_history(
    api: Api, engine: Engine, sync: CentralSync
) -> None:
    plant(api)
    bolts_on_hand(engine, 100)
    api.ok(api.put("/customers/ACME", {"name": "Acme Pumps", "phone": "+49 1"}, user="sales"))
    api.ok(api.put("/customers/ACME", {"name": "Acme Pumps", "phone": "+49 1"}, user="sales"))
    [changed, created] = api.ok(api.get("/history/customer/ACME"))["items"]
    assert (changed["action"], changed["user"]) == ("updated", "sales")
    assert changed["changes"] == {"phone": [None, "+49 1"]}  # the same save again: no line
    assert created["action"] == "created" and created["changes"]["name"] == [None, "Acme Pumps"]

    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]
    api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))
    api.ok(api.post(f"/sales-orders/{number}/cancel", user="sales"))
    actions = [
        (h["action"], h["changes"].get("status"))
        for h in api.ok(api.get(f"/history/sales_order/{number}"))["items"]
    ]
    assert actions == [
        ("cancelled", ["confirmed", "cancelled"]),
        ("confirmed", ["draft", "confirmed"]),
        ("created", [None, "draft"]),
    ]
    assert error(api.get("/history/invoice/X"), 422)["code"] == "unknown_entity"
    with engine.connect() as conn:
        assert conn.execute(select(sales_orders.c.status)).scalar_one() == "cancelled"


def test_the_decision_map_draws_roles_and_who_reports_to_whom(api: Api) -> None:
    plant(api)
    boss = api.ok(
        api.post(
            "/customers/ACME/contacts",
            {"name": "Dora", "role": "CEO", "buying_role": "decision_maker"},
            user="sales",
        ),
        201,
    )
    for name, role in (("Tim", "technical"), ("Uma", "user")):
        body = {"name": name, "buying_role": role, "reports_to": boss["id"]}
        api.ok(api.post("/customers/ACME/contacts", body, user="sales"), 201)
    bad = api.post("/customers/ACME/contacts", {"name": "X", "buying_role": "boss"}, user="sales")
    assert error(bad, 422)["code"] == "unknown_buying_role"
    shown = api.ok(api.get("/customers/ACME/decision-map"))
    assert shown["by_role"]["decision_maker"] == ["Dora"]
    assert shown["missing_roles"] == ["purchasing"]
    [root] = shown["tree"]
    assert (root["name"], [r["name"] for r in root["reports"]]) == ("Dora", ["Tim", "Uma"])


def test_tags_by_hand_and_by_rule(api: Api, engine: Engine) -> None:
    plant(api)
    bolts_on_hand(engine, 100)
    tagged = api.ok(
        api.put("/customers/ACME/tags", {"tags": ["key account", " fair 2026 "]}, user="sales")
    )
    assert tagged == {"manual": ["fair 2026", "key account"], "rules": []}
    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]
    api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))
    assert api.ok(api.get("/customers/ACME/tags"))["rules"] == ["bought in the last 90 days"]
    refused = api.put("/customers/ACME/tags", {"tags": ["open complaint"]}, user="sales")
    assert error(refused, 422)["code"] == "rule_tag"
    assert [c["code"] for c in api.ok(api.get("/customers", tag="key account"))["items"]] == [
        "ACME"
    ]
    assert api.put("/customers/ACME/tags", {"tags": []}, user="planner").status_code == 403


def test_the_timeline_merges_interactions_and_documents_newest_first(
    api: Api, engine: Engine
) -> None:
    plant(api)
    bolts_on_hand(engine, 100)
    calls = [
        {
            "kind": "call",
            "direction": "in",
            "subject": "asks for a price",
            "at": "2026-01-05T09:00:00Z",
        },
        {
            "kind": "visit",
            "direction": "out",
            "subject": "plant tour",
            "at": "2026-01-06T09:00:00Z",
        },
        {"kind": "note", "subject": "prefers email", "at": "2026-01-06T09:00:00Z"},
    ]
    for call in calls:
        api.ok(api.post("/customers/ACME/interactions", call, user="service"), 201)
    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]
    bad = {"kind": "note", "direction": "in", "subject": "x"}
    assert (
        error(api.post("/customers/ACME/interactions", bad, user="sales"), 422)["code"]
        == "note_direction"
    )
    assert api.post("/customers/ACME/interactions", calls[0], user="planner").status_code == 403

    first = api.ok(api.get("/customers/ACME/timeline", limit=2))
    assert [(e["source"], e.get("reference") or e.get("title")) for e in first["items"]] == [
        ("order", number),  # made now: the newest
        ("interaction", "prefers email"),  # same time as the visit: the later entry first
    ]
    rest = api.ok(api.get("/customers/ACME/timeline", limit=2, after=first["next"]))
    assert [e["title"] for e in rest["items"]] == ["plant tour", "asks for a price"]
    assert rest["next"] is None
    only = api.ok(api.get("/customers/ACME/timeline", source=["interaction"]))["items"]
    assert len(only) == 3 and {e["by"] for e in only} == {"service"}
    assert (
        error(api.get("/customers/ACME/timeline", after="nonsense"), 422)["code"]
        == "invalid_cursor"
    )
    assert (
        error(api.get("/customers/ACME/timeline", source=["gossip"]), 422)["code"]
        == "unknown_source"
    )


def test_opportunities_and_quotes_keep_their_history(api: Api) -> None:
    plant(api)
    deal = {"name": "Frames 2027", "customer": "ACME", "amount_cents": 500_000}
    made = api.ok(
        api.post("/opportunities", {**deal, "expected_close": "2027-03-31"}, user="sales"), 201
    )
    api.ok(api.post(f"/opportunities/{made['number']}/stage", {"stage": "proposal"}, user="sales"))
    moved, created = api.ok(api.get(f"/history/opportunity/{made['number']}"))["items"]
    assert (moved["action"], moved["changes"]["stage"]) == ("moved", [made["stage"], "proposal"])
    assert created["changes"]["amount_cents"] == [None, 500_000]

    body = {
        "customer": "ACME",
        "order_type": "standard",
        "lines": [{"item": "FRAME", "quantity": 4, "discount_pct": 5}],
    }
    quote = api.ok(api.post("/quotes", body, user="sales"), 201)
    api.ok(api.post(f"/quotes/{quote['number']}/submit", user="sales"))
    submitted, opened = api.ok(api.get(f"/history/quote/{quote['number']}"))["items"]
    assert submitted["action"] == "submit" and submitted["changes"]["status"][0] == "draft"
    assert opened["changes"]["lines"][1][0]["unit_price_cents"] == 11_875  # 12,500 less 5 %


def test_credit_and_prices_stay_hidden_in_history_and_timeline(api: Api, engine: Engine) -> None:
    plant(api, credit_limit_cents=100)
    bolts_on_hand(engine, 100)
    body = {"name": "Acme Pumps", "credit_limit_cents": 5_000_000}
    api.ok(api.put("/customers/ACME", body, user="admin"))
    number = api.ok(api.post("/sales-orders", FRAMES, user="sales"), 201)["number"]
    held = api.ok(api.post(f"/sales-orders/{number}/confirm", {}, user="sales"))
    assert held["status"] == "confirmed"
    for user in ("planner", "service", "supervisor"):
        [changed, _] = api.ok(api.get("/history/customer/ACME", user=user))["items"]
        assert "credit_limit_cents" not in changed["changes"], user
        assert changed["hidden_fields"] == ["credit_limit_cents"]
        order_history = api.ok(api.get(f"/history/sales_order/{number}", user=user))["items"]
        assert all("lines" not in h["changes"] for h in order_history), user
    [changed, _] = api.ok(api.get("/history/customer/ACME", user="sales"))["items"]
    assert changed["changes"]["credit_limit_cents"] == [100, 5_000_000]
    shipped = api.ok(api.get("/customers/ACME/timeline", user="service"))
    assert all("amount_cents" not in e for e in shipped["items"])


def test_an_account_keeps_billing_shipping_and_site_addresses(api: Api) -> None:
    plant(api)
    plant_two = {
        "kind": "site",
        "label": "Plant 2",
        "street": "Hafenstr. 3",
        "city": "Duisburg",
        "country": "DE",
    }
    first = {
        "kind": "shipping",
        "street": "Ring 1",
        "city": "Köln",
        "country": "DE",
        "is_default": True,
    }
    second = {**first, "street": "Ring 9"}
    for body in (plant_two, first, second):
        api.ok(api.post("/customers/ACME/addresses", body, user="sales"), 201)
    listed = api.ok(api.get("/customers/ACME/addresses"))["items"]
    assert [(a["kind"], a["street"], a["is_default"]) for a in listed] == [
        ("shipping", "Ring 9", True),  # the newest default replaced the one before
        ("shipping", "Ring 1", False),
        ("site", "Hafenstr. 3", False),
    ]
    assert api.ok(api.get("/customers/ACME/overview"))["addresses"] == listed
    bad = api.post("/customers/ACME/addresses", {**first, "country": "Germany"}, user="sales")
    assert bad.status_code == 422
    assert api.post("/customers/ACME/addresses", first, user="planner").status_code == 403
    gone = api.client.delete(
        f"/api/v1/customers/ACME/addresses/{listed[1]['id']}", headers=api.headers("sales", None)
    )
    assert gone.status_code == 204
    assert len(api.ok(api.get("/customers/ACME/addresses"))["items"]) == 2
    history = api.ok(api.get("/history/customer/ACME"))["items"]
    assert [h["action"] for h in history[:2]] == ["address_removed", "address_added"]


def test_the_list_finds_a_customer_by_the_start_of_its_code_or_of_a_word_of_its_name(
    api: Api,
) -> None:
    for code, name in (
        ("MUELLER", "Müller Hydraulik GmbH"),
        ("HYD-9", "Nine Pumps"),
        ("ZED", "Zed 100% Valves"),
        ("ACME", "Acme Pumps"),
    ):
        body = {"code": code, "name": name, "allow_duplicate": True}
        api.ok(api.post("/customers", body, user="sales"), 201)

    def found(q: str, **params: Any) -> list[str]:
        return [c["code"] for c in api.ok(api.get("/customers", q=q, **params))["items"]]

    assert found("hyd") == ["HYD-9", "MUELLER"]  # a code's start, a word of a name
    assert found("müll") == found("MUELL") == ["MUELLER"]  # folded as names are
    assert found("pumps") == ["ACME", "HYD-9"]
    assert found("umps") == []  # the start of a word, not any part of it
    assert found("100%") == ["ZED"] and found("%") == []  # a wildcard is a character
    assert found("pumps", limit=1) == ["ACME"]
    assert api.ok(api.get("/customers", q="pumps", limit=1))["next"] == "ACME"
    assert found("pumps", limit=1, after="ACME") == ["HYD-9"]
    assert len(found("  ")) == 4  # nothing to look for: all of them


def test_a_contact_is_edited_and_a_bad_edit_changes_nothing(api: Api) -> None:
    plant(api)
    other = {"code": "OTHER", "name": "Other Works"}
    api.ok(api.post("/customers", other, user="sales"), 201)
    stranger = api.ok(api.post("/customers/OTHER/contacts", {"name": "Sid"}, user="sales"), 201)
    boss = api.ok(api.post("/customers/ACME/contacts", {"name": "Dora"}, user="sales"), 201)
    made = api.ok(api.post("/customers/ACME/contacts", {"name": "Tim"}, user="sales"), 201)
    path = f"/customers/ACME/contacts/{made['id']}"
    body = {
        "name": "Tim Berg",
        "role": "Buyer",
        "email": "tim@acme.example",
        "buying_role": "purchasing",
        "reports_to": boss["id"],
    }
    saved = api.ok(api.put(path, body, user="sales"))
    assert (saved["name"], saved["reports_to_id"]) == ("Tim Berg", boss["id"])
    shown = api.ok(api.get("/customers/ACME/decision-map"))
    assert shown["by_role"]["purchasing"] == ["Tim Berg"]
    assert [r["name"] for r in shown["tree"][0]["reports"]] == ["Tim Berg"]
    [changed, _] = api.ok(api.get(f"/history/contact/{made['id']}"))["items"]
    assert (changed["action"], changed["user"]) == ("updated", "sales")
    assert changed["changes"]["name"] == ["Tim", "Tim Berg"]
    assert changed["changes"]["buying_role"] == [None, "purchasing"]

    before = api.ok(api.get("/customers/ACME/contacts"))["items"]
    for where, bad, status, code in (
        ("/customers/ACME/contacts/999999", body, 404, "not_found"),
        (f"/customers/ACME/contacts/{stranger['id']}", body, 404, "not_found"),
        (path, {**body, "buying_role": "boss"}, 422, "unknown_buying_role"),
        (path, {**body, "reports_to": stranger["id"]}, 422, "unknown_contact"),
        (path, {**body, "reports_to": made["id"]}, 422, "reports_to_loop"),
        (f"/customers/ACME/contacts/{boss['id']}", {"name": "D", "reports_to": made["id"]}, 422,
         "reports_to_loop"),
    ):  # fmt: skip
        assert error(api.put(where, bad, user="sales"), status)["code"] == code, where
    assert api.put(path, body, user="planner").status_code == 403
    assert api.ok(api.get("/customers/ACME/contacts"))["items"] == before
    assert api.ok(api.get("/customers/OTHER/contacts"))["items"][0]["name"] == "Sid"
    assert len(api.ok(api.get(f"/history/contact/{made['id']}"))["items"]) == 2
