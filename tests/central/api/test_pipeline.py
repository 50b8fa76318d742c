"""Leads, opportunities, the board, forecast and conversion, and tasks through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select

from central.db.crm import leads
from tests.central.api.conftest import Api

TODAY = datetime.now(UTC).date()


def patch(api: Api, path: str, body: Any, user: str = "sales") -> httpx.Response:
    return api.client.patch(f"/api/v1{path}", json=body, headers=api.headers(user, None))


def delete(api: Api, path: str, user: str = "admin") -> httpx.Response:
    return api.client.delete(f"/api/v1{path}", headers=api.headers(user, None))


def customer(api: Api, code: str = "ACME", **fields: Any) -> None:
    body = {"code": code, "name": "Acme Pumps", **fields}
    api.ok(api.post("/customers", body, user="sales"), 201)


def opportunity(api: Api, amount: int = 100_000, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Pump line",
        "customer": "ACME",
        "amount_cents": amount,
        "expected_close": str(TODAY + timedelta(days=3)),
        **fields,
    }
    result: dict[str, Any] = api.ok(api.post("/opportunities", body, user="sales"), 201)
    return result


def test_a_lead_is_qualified_and_converted_to_account_contact_and_deal(api: Api) -> None:
    rule = {"position": 10, "owner": "sales", "product_line": "PUMPS"}
    api.ok(api.post("/assignment-rules", rule), 201)
    body = {
        "company": "Nordic Valves",
        "contact_name": "Ida",
        "email": "ida@nv.example",
        "product_line": "PUMPS",
    }
    lead = api.ok(api.post("/leads", body, user="sales"), 201)
    assert lead["number"].startswith("LD-") and lead["status"] == "new"
    assert lead["owner"] == "sales" and lead["source"] == "manual"

    moved = patch(api, f"/leads/{lead['number']}", {"status": "contacted", "budget_cents": 5000})
    assert api.ok(moved)["status"] == "contacted"
    refused = patch(api, f"/leads/{lead['number']}", {"status": "disqualified"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "reason_required"
    api.ok(patch(api, f"/leads/{lead['number']}", {"status": "qualified", "authority": True}))

    customer(api, "NV", name="NORDIC VALVES")  # the same name in another case
    convert = {"amount_cents": 250_000, "expected_close": "2027-03-31"}
    clash = api.post(f"/leads/{lead['number']}/convert", convert, user="sales")
    assert clash.status_code == 409
    error = clash.json()["error"]
    assert error["code"] == "possible_duplicate"
    assert [c["code"] for c in error["details"]["candidates"]] == ["NV"]

    done = api.ok(
        api.post(f"/leads/{lead['number']}/convert", {**convert, "customer": "NV"}, user="sales")
    )
    assert done["status"] == "converted" and done["customer"] == "NV"
    deal = api.ok(api.get(f"/opportunities/{done['opportunity']}"))
    assert deal["stage"] == "qualify" and deal["amount_cents"] == 250_000
    assert deal["source"] == "manual" and deal["owner"] == "sales"
    assert deal["contact_id"] is not None
    contacts = api.ok(api.get("/customers/NV/contacts"))["items"]
    assert [c["name"] for c in contacts] == ["Ida"]
    again = api.post(f"/leads/{lead['number']}/convert", convert, user="sales")
    assert again.status_code == 409


def test_a_lead_converts_to_a_new_customer_when_asked(api: Api) -> None:
    customer(api, "ACME", email="buy@acme.example")
    lead = api.ok(api.post("/leads", {"company": "Acme GmbH", "email": "BUY@acme.example"}), 201)
    convert = {"amount_cents": 1, "expected_close": "2027-01-01"}
    assert api.post(f"/leads/{lead['number']}/convert", convert).status_code == 409
    made = api.ok(
        api.post(
            f"/leads/{lead['number']}/convert",
            {**convert, "new_customer": {"code": "ACME-DE", "tier": "A"}},
        )
    )
    assert made["customer"] == "ACME-DE"
    assert api.ok(api.get("/customers/ACME-DE"))["name"] == "Acme GmbH"
    both = {**convert, "customer": "ACME", "new_customer": {"code": "X"}}
    assert api.post(f"/leads/{lead['number']}/convert", both).status_code == 422


def test_the_web_form_needs_no_token_and_the_honeypot_keeps_nothing(
    api: Api, engine: Engine
) -> None:
    form = {"company": "Bot Inc", "email": "x@bot.example", "message": "hi"}
    bot = api.post("/web-leads", {**form, "website": "http://spam.example"}, user=None)
    assert bot.status_code == 202
    person = api.post("/web-leads", {**form, "company": "Real Co"}, user=None)
    assert person.status_code == 202 and person.json() == bot.json()
    with engine.connect() as conn:
        rows = conn.execute(select(leads.c.company, leads.c.source)).all()
    assert [tuple(r) for r in rows] == [("Real Co", "web_form")]
    assert api.post("/web-leads", {**form, "owner": "admin"}, user=None).status_code == 422
    big = api.post("/web-leads", {**form, "message": "x" * 20_000}, user=None)
    assert big.status_code in (413, 422)
    assert api.post("/web-leads", {"email": "no company"}, user=None).status_code == 422

    def chunked() -> Iterator[bytes]:  # no Content-Length to trust: the cap reads the stream
        yield b'{"company": "Flood", "message": "'
        for _ in range(500):
            yield b"x" * 10_000
        yield b'"}'

    flood = api.client.post(
        "/api/v1/web-leads", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert flood.status_code == 413
    with engine.connect() as conn:
        assert conn.execute(select(leads.c.company)).scalars().all() == ["Real Co"]


def test_the_board_moves_and_closes_opportunities(api: Api) -> None:
    customer(api)
    first = opportunity(api, 100_000)
    second = opportunity(api, 40_000, stage="proposal", competitors=["Grundfos"])
    board = api.ok(api.get("/pipeline"))
    assert [c["stage"] for c in board["stages"]] == [
        "qualify",
        "analysis",
        "proposal",
        "negotiation",
    ]
    assert board["weighted_cents"] == 10_000 + 20_000
    assert [o["outcome"] for o in board["outcomes"]] == ["won", "lost"]

    number = first["number"]
    moved = api.ok(api.post(f"/opportunities/{number}/stage", {"stage": "analysis"}, user="sales"))
    assert [h["stage"] for h in moved["history"]] == ["qualify", "analysis"]
    assert moved["history"][1]["by"] == "sales"
    lost = api.post(f"/opportunities/{number}/stage", {"stage": "lost"}, user="sales")
    assert lost.status_code == 422 and lost.json()["error"]["code"] == "lost_reason_required"
    closed = api.ok(
        api.post(f"/opportunities/{number}/stage", {"stage": "lost", "lost_reason": "price"})
    )
    assert closed["closed_at"] is not None and closed["lost_reason"] == "price"
    to_won = api.post(f"/opportunities/{number}/stage", {"stage": "won"})
    assert to_won.status_code == 409
    reopened = api.ok(api.post(f"/opportunities/{number}/stage", {"stage": "proposal"}))
    assert reopened["closed_at"] is None and reopened["lost_reason"] is None
    board = api.ok(api.get("/pipeline"))
    proposal = board["stages"][2]
    assert proposal["count"] == 2 and proposal["amount_cents"] == 140_000
    assert proposal["weighted_cents"] == 70_000
    unknown = api.post(f"/opportunities/{number}/stage", {"stage": "nowhere"})
    assert unknown.status_code == 422

    changed = api.ok(
        patch(
            api,
            f"/opportunities/{second['number']}",
            {"amount_cents": 50_000, "owner": "admin", "competitors": []},
        )
    )
    assert changed["amount_cents"] == 50_000 and changed["owner"] == "admin"
    assert patch(api, f"/opportunities/{number}", {"owner": "nobody"}).status_code == 422
    assert patch(api, f"/opportunities/{number}", {"amount_cents": None}).status_code == 422

    listed = api.ok(api.get("/opportunities", owner="admin"))["items"]
    assert [o["number"] for o in listed] == [second["number"]]
    soon = api.ok(api.get("/opportunities", closing_before=str(TODAY)))["items"]
    assert soon == []
    forecast = api.ok(api.get("/forecast", by="owner"))
    assert {r["owner"] for r in forecast["rows"]} == {"admin", None}
    assert api.get("/forecast", by="team").status_code == 422
    assert api.get("/forecast", **{"from": "2027-01-02", "to": "2027-01-01"}).status_code == 422
    conversion = api.ok(api.get("/pipeline/conversion"))
    assert conversion["stages"][0] == {
        "stage": "qualify",
        "entered": 1,
        "advanced": 1,
        "won": 0,
        "advanced_share": 1.0,
        "won_share": 0.0,
    }


def test_admins_keep_stages_and_rules(api: Api) -> None:
    stage = {"code": "demo", "name": "Demo", "position": 35, "probability": 0.6}
    assert api.post("/pipeline-stages", stage, user="sales").status_code == 403
    api.ok(api.post("/pipeline-stages", stage), 201)
    assert api.post("/pipeline-stages", {**stage, "code": "demo2"}).status_code == 409
    assert api.post("/pipeline-stages", {**stage, "probability": 2}).status_code == 422
    api.ok(api.put("/pipeline-stages/demo", {"name": "Demo", "position": 36, "probability": 0.5}))
    stages = [s["code"] for s in api.ok(api.get("/pipeline-stages", user="service"))]
    assert stages.index("demo") == 3
    assert delete(api, "/pipeline-stages/demo").status_code == 204
    customer(api)
    opportunity(api)
    assert delete(api, "/pipeline-stages/qualify").status_code == 409

    rule = api.ok(
        api.post("/assignment-rules", {"position": 1, "owner": "sales", "tier": "A"}), 201
    )
    assert rule["owner"] == "sales"
    assert api.post("/assignment-rules", {"position": 2, "owner": "ghost"}).status_code == 422
    assert (
        api.put(
            f"/assignment-rules/{rule['id']}",
            {"position": 1, "owner": "admin"},
        ).json()["owner"]
        == "admin"
    )
    assert delete(api, f"/assignment-rules/{2**63}").status_code == 422
    assert delete(api, f"/assignment-rules/{rule['id']}").status_code == 204
    assert api.ok(api.get("/assignment-rules")) == []


def test_roles_and_bad_input(api: Api) -> None:
    assert api.get("/pipeline", user=None).status_code == 401
    assert api.get("/my-day", user=None).status_code == 401
    assert api.post("/leads", {"company": "X"}, user="planner").status_code == 403
    assert (
        api.post(
            "/tasks", {"title": "x", "due_at": "2027-01-01T00:00:00Z"}, user="service"
        ).status_code
        == 403
    )
    assert api.post("/leads", {"company": "X", "budget_cents": 2**63}).status_code == 422
    assert api.post("/leads", {"company": "X", "colour": "red"}).status_code == 422
    assert api.post("/tasks", {"title": "x", "due_at": "2027-01-01T00:00:00"}).status_code == 422
    assert api.get(f"/tasks/{2**63}").status_code == 422
    assert api.get("/opportunities/OP-1").status_code == 404
    assert api.get("/opportunities", closing_before="soon").status_code == 422
    assert api.get("/pipeline", cards=10_000).status_code == 422


def test_tasks_and_my_day(api: Api) -> None:
    customer(api)
    deal = opportunity(api, owner="sales")
    now = datetime.now(UTC)
    overdue = {
        "title": "Call Ida",
        "due_at": (now - timedelta(days=1)).isoformat(),
        "customer": "ACME",
        "opportunity": deal["number"],
    }
    made = api.ok(api.post("/tasks", overdue, user="sales"), 201)
    assert made["owner"] == "sales" and made["opportunity"] == deal["number"]
    later = {"title": "Next week", "due_at": (now + timedelta(days=8)).isoformat()}
    api.ok(api.post("/tasks", later, user="sales"), 201)
    api.ok(api.post("/tasks", {**later, "owner": "admin", "due_at": now.isoformat()}), 201)
    assert api.post("/tasks", {**later, "quote": "QT-9"}).status_code == 422

    day = api.ok(api.get("/my-day", user="sales"))
    assert day["user"] == "sales"
    assert [t["title"] for t in day["overdue"]] == ["Call Ida"] and day["today"] == []
    assert [o["number"] for o in day["closing"]] == [deal["number"]]
    done = api.ok(api.post(f"/tasks/{made['id']}/complete", user="sales"))
    assert done["done_at"] is not None
    assert api.post(f"/tasks/{made['id']}/complete", user="sales").status_code == 409
    assert api.ok(api.get("/my-day", user="sales"))["overdue"] == []
    changed = api.ok(patch(api, f"/tasks/{made['id']}", {"title": "Called", "customer": None}))
    assert changed["title"] == "Called" and changed["customer"] is None
    assert patch(api, f"/tasks/{made['id']}", {"due_at": None}).status_code == 422
    mine = api.ok(api.get("/tasks", owner="sales", open="true"))["items"]
    assert [t["title"] for t in mine] == ["Next week"]
    assert date.fromisoformat(day["date"]) == now.date()


def test_tasks_due_from_a_time_are_the_ones_coming_up(sqlite_api: Api) -> None:
    api = sqlite_api
    tomorrow = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC)
    for title, due in [("Tonight", tomorrow - timedelta(minutes=1)), ("At midnight", tomorrow)]:
        api.ok(api.post("/tasks", {"title": title, "due_at": due.isoformat()}, user="sales"), 201)
    coming = api.ok(api.get("/tasks", owner="sales", open="true", due_from=tomorrow.isoformat()))
    assert [t["title"] for t in coming["items"]] == ["At midnight"]  # at or after
    assert api.get("/tasks", due_from="2027-01-01T00:00:00").status_code == 422  # no zone
