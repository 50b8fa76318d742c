"""After-sales service through the API: tickets, reply templates, repair orders, technicians."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx
from sqlalchemy import Engine, select, update

from central.aftersales import tickets
from central.api import repairs as repairs_api
from central.api import tickets as tickets_api
from central.db import aftersales
from central.db.aftersales import repair_parts
from central.db.domain import customers, items
from central.orders import inventory
from central.service import CentralSync
from tests.central.api.conftest import Api, plant
from tests.central.conftest import batch, envelope, events_topic

SERIAL_ITEM = {"description": "Frame", "kind": "make", "tracking": "serial", "price_cents": 12_500}
TECHNICIANS = (
    # ANNA is in NORTH but lacks hydraulics; CARL has it but works in SOUTH
    {"code": "ANNA", "name": "Anna", "skills": ["electrical"], "territory": "NORTH",
     "hourly_rate_cents": 5_000},
    {"code": "BOB", "name": "Bob", "skills": ["hydraulics", "electrical"], "territory": "NORTH",
     "hourly_rate_cents": 6_000},
    {"code": "CARL", "name": "Carl", "skills": ["hydraulics"], "territory": "SOUTH",
     "hourly_rate_cents": 5_500},
)  # fmt: skip


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def delete(api: Api, path: str, user: str = "service") -> httpx.Response:
    return api.client.delete(f"/api/v1{path}", headers=api.headers(user, None))


def service_desk(api: Api, engine: Engine) -> None:
    """ACME in territory NORTH with a contact, technicians, seals in stores."""
    plant(api)
    api.ok(
        api.put("/customers/ACME", {"name": "Acme Pumps", "address": "1 Quay Road"}, user="sales")
    )
    with engine.begin() as conn:  # the territory is not the customers API's (yet)
        conn.execute(update(customers).where(customers.c.code == "ACME").values(territory="NORTH"))
    api.ok(api.post("/customers/ACME/contacts", {"name": "Ann Acme"}, user="sales"), 201)
    for technician in TECHNICIANS:
        api.ok(api.post("/technicians", technician, user="service"), 201)
    seal = {"code": "SEAL", "description": "Seal kit", "kind": "buy", "price_cents": 250}
    api.ok(api.post("/items", seal, user="planner"), 201)
    with engine.begin() as conn:
        seal_id = conn.execute(select(items.c.id).where(items.c.code == "SEAL")).scalar_one()
        move = inventory.Move(seal_id, "", 10, "purchase", "PO-9", to_location="STORES")
        inventory.book(conn, [move], datetime.now(UTC))


def ship_two_serials(api: Api, engine: Engine, sync: CentralSync) -> list[str]:
    """Two serial-tracked frames made on the floor and shipped to ACME; their serials."""
    api.ok(api.put("/items/FRAME", SERIAL_ITEM, user="planner"))
    with engine.begin() as conn:
        bolt = conn.execute(select(items.c.id).where(items.c.code == "BOLT")).scalar_one()
        move = inventory.Move(bolt, "L-1", 100, "purchase", "PO-1", to_location="STORES")
        inventory.book(conn, [move], datetime.now(UTC))
    order = {
        "customer": "ACME",
        "type": "make_to_order",
        "lines": [{"item": "FRAME", "quantity": 2}],
    }
    number = api.ok(api.post("/sales-orders", order, user="sales"), 201)["number"]
    [wo] = api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))["production_orders"]
    api.ok(api.post(f"/production-orders/{wo}/release", user="planner"))

    def report(op: str) -> dict[str, Any]:
        return {
            "work_order": wo,
            "operation": op,
            "good": 2,
            "scrap": 0,
            "period_start": "2026-11-23T08:00:00Z",
            "period_end": "2026-11-23T09:00:00Z",
            "operation_end": True,
        }

    issue = {"work_order": wo, "operation": "10", "item": "BOLT", "lot": "L-1", "quantity": 8}
    events = [
        envelope(1, issue, kind="material_issue"),
        envelope(2, report("10")),
        envelope(3, report("20")),
    ]
    sync.ingestor.handle(events_topic(), batch(*events))
    shipment = api.ok(api.post(f"/sales-orders/{number}/ship", user="sales"), 201)
    serials = [line["lot"] for line in shipment["lines"]]
    assert serials == [f"{wo}-0001", f"{wo}-0002"]
    return serials


def test_the_apis_vocabulary_is_the_domains() -> None:
    assert get_args(tickets_api.Kind) == aftersales.TICKET_KINDS
    assert get_args(tickets_api.Channel) == aftersales.CHANNELS
    assert get_args(tickets_api.Priority) == aftersales.PRIORITIES
    assert get_args(tickets_api.Status) == aftersales.TICKET_STATES
    assert get_args(repairs_api.Kind) == aftersales.REPAIR_KINDS
    assert get_args(repairs_api.Status) == aftersales.REPAIR_STATES


def test_a_ticket_to_a_field_repair_with_parts_closed_with_feedback(
    api: Api, engine: Engine, sync: CentralSync
) -> None:
    service_desk(api, engine)
    serial, _ = ship_two_serials(api, engine, sync)

    # the customer calls about a shipped serial: the ticket knows its item and SLA
    opened = api.ok(
        api.post(
            "/tickets",
            {
                "customer": "ACME",
                "contact_id": 1,
                "kind": "warranty_claim",
                "channel": "phone",
                "priority": "high",
                "subject": "Frame cracked at the weld",
                "lot": serial,
                "assignee": "service",
            },
            user="service",
        ),
        201,
    )
    ticket = opened["number"]
    assert (opened["status"], opened["item"], opened["contact"], opened["assignee"]) == (
        "open",
        "FRAME",
        "Ann Acme",
        "service",
    )
    at = datetime.fromisoformat(opened["opened_at"])
    assert datetime.fromisoformat(opened["response_due"]) == at + timedelta(hours=4)
    assert datetime.fromisoformat(opened["resolution_due"]) == at + timedelta(hours=24)
    assert (opened["response_breached"], opened["resolution_breached"]) == (False, False)
    assert 239 <= opened["response_due_in_minutes"] <= 240
    reply = {"body": "A technician will visit.", "public": True}
    api.ok(api.post(f"/tickets/{ticket}/notes", reply, user="service"), 201)
    api.ok(api.post(f"/tickets/{ticket}/start", user="service"))

    # a field repair from it: the ticket's customer and serial, ACME's site and territory
    body = {"kind": "field", "fault": "cracked weld", "required_skills": ["hydraulics"]}
    repair = api.ok(api.post(f"/tickets/{ticket}/repair-orders", body, user="service"), 201)
    number = repair["number"]
    assert (repair["ticket"], repair["customer"]["code"], repair["unit"]["lot"]) == (
        ticket,
        "ACME",
        serial,
    )
    assert (repair["site_address"], repair["territory"], repair["status"]) == (
        "1 Quay Road",
        "NORTH",
        "open",
    )
    warranty = repair["warranty"]
    assert (warranty["under_warranty"], warranty["warranty_months"]) == (True, 12)
    assert warranty["shipped_at"] is not None
    # the genealogy of the very frame: the work order that made it
    assert repair["genealogy"]["lot"] == serial
    assert repair["genealogy"]["production_order"]["work_order"] == serial.rsplit("-", 1)[0]

    # automatic assignment: BOB, the one in NORTH with hydraulics
    assigned = api.ok(api.post(f"/repair-orders/{number}/assign", user="service"))
    assert (assigned["status"], assigned["technician"]["code"]) == ("assigned", "BOB")
    assert api.ok(api.get("/technicians/BOB"))["open_repairs"] == 1
    api.ok(api.post(f"/repair-orders/{number}/start", user="service"))

    # parts leave stock by exactly what is used; labour at BOB's rate
    part = {"item": "SEAL", "quantity": 3}
    with_parts = api.ok(api.post(f"/repair-orders/{number}/parts", part, user="service"), 201)
    assert with_parts["parts"][0] | {"at": None} == {
        "item": "SEAL",
        "lot": "",
        "location": "STORES",
        "quantity": 3.0,
        "unit_cost_cents": 250,
        "cost_cents": 750,
        "at": None,
    }
    [seals] = api.ok(api.get("/stock", item="SEAL"))["items"]
    assert seals["quantity"] == 7.0
    [used] = api.ok(api.get("/stock-moves", reference=number))["items"]
    assert (used["item"], used["quantity"], used["reason"]) == ("SEAL", 3.0, "consumption")
    hours = {"hours": 2.5, "note": "rewelded the bracket"}
    worked = api.ok(api.post(f"/repair-orders/{number}/labour", hours, user="service"), 201)
    assert [(w["technician"], w["hours"], w["cost_cents"]) for w in worked["labour"]] == [
        ("BOB", 2.5, 15_000)
    ]
    assert worked["costs"] == {
        "parts_cents": 750,
        "labour_cents": 15_000,
        "total_cents": 15_750,
        "charged_cents": 0,  # under warranty
    }

    # done, closed with the customer's feedback
    api.ok(
        api.post(f"/repair-orders/{number}/done", {"diagnosis": "fatigue crack"}, user="service")
    )
    feedback = {"satisfaction": 5, "feedback": "fixed on the first visit"}
    closed = api.ok(api.post(f"/repair-orders/{number}/close", feedback, user="service"))
    assert (closed["status"], closed["diagnosis"], closed["feedback"]) == (
        "closed",
        "fatigue crack",
        feedback,
    )
    assert api.ok(api.get("/technicians/BOB"))["open_repairs"] == 0

    # the ticket: resolved with cause and action, closed with satisfaction
    resolution = {"root_cause": "weld fatigue", "corrective_action": "bracket rewelded"}
    api.ok(api.post(f"/tickets/{ticket}/resolve", resolution, user="service"))
    done = api.ok(
        api.post(
            f"/tickets/{ticket}/close", {"satisfaction": 5, "feedback": "great"}, user="service"
        )
    )
    assert (done["status"], done["satisfaction"], done["feedback"]) == ("closed", 5, "great")
    assert (done["root_cause"], done["corrective_action"]) == ("weld fatigue", "bracket rewelded")
    assert done["first_response_at"] is not None and done["response_breached"] is False
    assert [n["body"] for n in done["notes"]] == ["A technician will visit."]
    assert [(r["number"], r["status"], r["technician"]) for r in done["repair_orders"]] == [
        (number, "closed", "BOB")
    ]
    listed = api.ok(api.get("/repair-orders", technician="BOB", status="closed", kind="field"))
    assert [r["number"] for r in listed["items"]] == [number]
    assert api.ok(api.get("/tickets", status="closed", customer="ACME"))["items"][0]["number"] == (
        ticket
    )


def test_refusals_change_nothing(api: Api, engine: Engine) -> None:
    service_desk(api, engine)
    repair = {
        "customer": "ACME",
        "kind": "in_shop",
        "fault": "noisy",
        "item": "FRAME",
        "required_skills": ["electrical"],
    }
    number = api.ok(api.post("/repair-orders", repair, user="service"), 201)["number"]
    api.ok(api.post(f"/repair-orders/{number}/assign", {"technician": "ANNA"}, user="service"))
    before = api.ok(api.get(f"/repair-orders/{number}"))

    # not in stock
    refused = error(
        api.post(
            f"/repair-orders/{number}/parts", {"item": "SEAL", "quantity": 11}, user="service"
        ),
        409,
    )
    assert refused == {"code": "not_in_stock", "message": "10 of SEAL free at STORES, not 11"}
    assert api.ok(api.get("/stock", item="SEAL"))["items"][0]["quantity"] == 10.0
    assert api.ok(api.get("/stock-moves", reason="consumption"))["items"] == []

    # who may: anyone reads; service writes; admin alone sets SLA policies
    assert api.ok(api.get(f"/repair-orders/{number}", user="sales")) == before
    ticket = {"customer": "ACME", "kind": "inquiry", "channel": "email", "subject": "Manual?"}
    assert error(api.post("/tickets", ticket, user="sales"), 403)["code"] == "forbidden"
    assert error(api.post("/technicians", {**TECHNICIANS[0], "code": "DAN"}, user="planner"), 403)
    sla = {"response_hours": 2, "resolution_hours": 10}
    assert error(api.put("/sla-policies/high", sla, user="service"), 403)["code"] == "forbidden"
    parts = {"item": "SEAL", "quantity": 1}
    assert error(api.post(f"/repair-orders/{number}/parts", parts, user="planner"), 403)
    assert error(api.post("/tickets", ticket, user=None), 401)["code"] == "unauthenticated"

    # bodies the API does not take
    bad_bodies = [
        ("/tickets", {**ticket, "urgency": "high"}),
        ("/tickets", {**ticket, "kind": "praise"}),
        ("/tickets", {**ticket, "subject": ""}),
        ("/repair-orders", {**repair, "kind": "remote"}),
        ("/repair-orders", {**repair, "required_skills": ["no spaces"]}),
        (f"/repair-orders/{number}/parts", {"item": "SEAL", "quantity": 0}),
        (f"/repair-orders/{number}/labour", {"hours": -1}),
        (f"/repair-orders/{number}/close", {"satisfaction": 6}),
        ("/technicians", {**TECHNICIANS[0], "code": "DAN", "hourly_rate_cents": -5}),
        ("/reply-templates", {"code": "X", "title": "x", "body": "x", "tags": []}),
        # what the database or time arithmetic cannot hold is refused, not a server error
        ("/tickets", {**ticket, "contact_id": 2**64}),
        ("/repair-orders", {**repair, "scheduled_for": "2026-12-01T08:00:00"}),  # no offset
        ("/repair-orders", {**repair, "scheduled_for": "9999-12-31T23:59:59-05:00"}),
        (f"/repair-orders/{number}/labour", {"hours": 1e308}),
        ("/technicians", {**TECHNICIANS[0], "code": "DAN", "hourly_rate_cents": 2**64}),
    ]
    for path, body in bad_bodies:
        assert error(api.post(path, body, user="service"), 422)["code"] == "invalid_request", path
    assert error(api.put("/sla-policies/high", {"response_hours": 0, "resolution_hours": 1}), 422)
    huge = {"response_hours": 1e308, "resolution_hours": 1e308}
    assert error(api.put("/sla-policies/high", huge), 422)["code"] == "invalid_request"

    # unknown codes: in the path 404, in the body 422 naming the field
    assert error(api.get("/tickets/TK-0"), 404)["code"] == "not_found"
    assert error(api.get("/repair-orders/RO-0"), 404)["code"] == "not_found"
    assert error(api.get("/technicians/NOBODY"), 404)["code"] == "not_found"
    assert error(api.put("/sla-policies/whenever", sla), 404)["code"] == "not_found"
    assert error(
        api.post("/tickets/TK-0/repair-orders", {"kind": "in_shop", "fault": "x"}, user="service"),
        404,
    )
    assign, parts_of = f"/repair-orders/{number}/assign", f"/repair-orders/{number}/parts"
    unknown = [
        ("/tickets", {**ticket, "customer": "NOPE"}, "unknown_customer", "customer"),
        ("/tickets", {**ticket, "contact_id": 99}, "unknown_contact", "contact_id"),
        ("/tickets", {**ticket, "assignee": "sales"}, "not_service", "assignee"),
        ("/repair-orders", {**repair, "item": "NOPE"}, "unknown_item", "item"),
        ("/repair-orders", {**repair, "territory": "EAST"}, "not_field", "territory"),
        (assign, {"technician": "NOPE"}, "unknown_technician", "technician"),
        (assign, {"technician": "CARL"}, "missing_skills", "technician"),
        (parts_of, {"item": "NOPE", "quantity": 1}, "unknown_item", "item"),
    ]
    for path, body, code, field in unknown:
        refused = error(api.post(path, body, user="service"), 422)
        assert (refused["code"], refused["details"]) == (code, {"field": field}), path
    # a field repair where no technician works: 409, nobody assigned
    east = {**repair, "kind": "field", "territory": "EAST", "required_skills": ["hydraulics"]}
    far = api.ok(api.post("/repair-orders", east, user="service"), 201)["number"]
    assert error(api.post(f"/repair-orders/{far}/assign", user="service"), 409) == {
        "code": "no_technician",
        "message": "no active technician has the skills hydraulics in territory EAST",
    }
    # the status flow
    assert error(api.post(f"/repair-orders/{number}/done", {"diagnosis": "x"}, user="service"), 409)
    assert error(api.post(f"/repair-orders/{number}/close", user="service"), 409)

    assert api.ok(api.get(f"/repair-orders/{number}")) == before
    assert api.ok(api.get("/tickets"))["items"] == []
    assert [r["number"] for r in api.ok(api.get("/repair-orders"))["items"]] == [number, far]
    with engine.connect() as conn:
        assert conn.execute(select(repair_parts)).all() == []


def test_breaches_are_flagged_and_listed(api: Api, engine: Engine) -> None:
    service_desk(api, engine)
    # opened 10 hours ago at normal priority: unanswered past its 8 hours
    with engine.begin() as conn:
        late = tickets.open_ticket(
            conn,
            customer="ACME",
            kind="complaint",
            channel="email",
            priority="normal",
            subject="No answer yet",
            now=datetime.now(UTC) - timedelta(hours=10),
        )
    body = {"customer": "ACME", "kind": "inquiry", "channel": "chat", "subject": "Spare parts?"}
    fresh = api.ok(api.post("/tickets", {**body, "priority": "urgent"}, user="service"), 201)

    shown = api.ok(api.get(f"/tickets/{late}", user="sales"))
    assert (shown["response_breached"], shown["resolution_breached"]) == (True, False)
    assert -121 <= shown["response_due_in_minutes"] <= -120
    assert 61 * 60 - 1 <= shown["resolution_due_in_minutes"] <= 62 * 60
    assert [t["number"] for t in api.ok(api.get("/tickets", breached="true"))["items"]] == [late]
    assert [t["number"] for t in api.ok(api.get("/tickets", breached="false"))["items"]] == [
        fresh["number"]
    ]
    # answering late stays a breach; the list is by resolution due, a page at a time
    api.ok(
        api.post(f"/tickets/{late}/notes", {"body": "Sorry!", "public": True}, user="service"), 201
    )
    answered = api.ok(api.get(f"/tickets/{late}"))
    assert (answered["response_breached"], answered["response_due_in_minutes"]) == (True, None)
    first = api.ok(api.get("/tickets", limit=1))
    assert [t["number"] for t in first["items"]] == [fresh["number"]]  # urgent: due in 8 h
    second = api.ok(api.get("/tickets", limit=1, after=first["next"]))
    assert ([t["number"] for t in second["items"]], second["next"]) == ([late], None)
    assert error(api.get("/tickets", after="nonsense"), 422)["code"] == "invalid_request"

    # a priority change recomputes both dues from the opening
    high = api.ok(api.post(f"/tickets/{late}/priority", {"priority": "high"}, user="service"))
    opened = datetime.fromisoformat(high["opened_at"])
    assert datetime.fromisoformat(high["resolution_due"]) == opened + timedelta(hours=24)
    assert [p["priority"] for p in api.ok(api.get("/sla-policies"))] == [
        "urgent",
        "high",
        "normal",
        "low",
    ]
    changed = api.ok(api.put("/sla-policies/low", {"response_hours": 48, "resolution_hours": 240}))
    assert changed == {"priority": "low", "response_hours": 48.0, "resolution_hours": 240.0}


def test_reply_templates_searched_and_rendered(api: Api, engine: Engine) -> None:
    service_desk(api, engine)
    templates = [
        {"code": "LEAK", "title": "Leaking seal", "body": "Dear {contact}, re {ticket}: {subject}.",
         "keywords": ["leak", "seal", "leak"]},
        {"code": "PARTS", "title": "Spare parts", "body": "Dear {customer}, a seal ships {when}.",
         "keywords": ["spares"]},
    ]  # fmt: skip
    for template in templates:
        api.ok(api.post("/reply-templates", template, user="service"), 201)
    assert (
        error(api.post("/reply-templates", templates[0], user="service"), 409)["code"] == "exists"
    )
    assert api.ok(api.get("/reply-templates/LEAK"))["keywords"] == ["leak", "seal"]

    def found(q: str) -> list[str]:
        return [t["code"] for t in api.ok(api.get("/reply-templates", user="sales", q=q))["items"]]

    assert found("seal") == ["LEAK", "PARTS"]  # a keyword of LEAK, in the body of PARTS
    assert found("SEAL ships") == ["PARTS"]
    assert found("spares dear") == ["PARTS"]
    assert found("gasket") == []
    assert [t["code"] for t in api.ok(api.get("/reply-templates", limit=1))["items"]] == ["LEAK"]

    body = {
        "customer": "ACME",
        "contact_id": 1,
        "kind": "complaint",
        "channel": "email",
        "subject": "Seal leaks",
    }
    ticket = api.ok(api.post("/tickets", body, user="service"), 201)["number"]
    assert api.ok(api.get(f"/tickets/{ticket}/replies/LEAK", user="sales")) == {
        "template": "LEAK",
        "ticket": ticket,
        "title": "Leaking seal",
        "body": f"Dear Ann Acme, re {ticket}: Seal leaks.",
    }
    parts = api.ok(api.get(f"/tickets/{ticket}/replies/PARTS"))
    assert parts["body"] == "Dear Acme Pumps, a seal ships {when}."
    assert error(api.get(f"/tickets/{ticket}/replies/NOPE"), 404)["code"] == "not_found"

    # replaced, deleted; a retried create with its key answers the first answer
    changed = {"title": "Spares", "body": "On its way, {contact}.", "keywords": ["spares"]}
    assert api.ok(api.put("/reply-templates/PARTS", changed, user="service"))["title"] == "Spares"
    assert api.ok(api.get(f"/tickets/{ticket}/replies/PARTS"))["body"] == "On its way, Ann Acme."
    assert delete(api, "/reply-templates/PARTS").status_code == 204
    assert error(delete(api, "/reply-templates/PARTS"), 404)["code"] == "not_found"
    assert error(delete(api, "/reply-templates/LEAK", user="sales"), 403)["code"] == "forbidden"
    again = {"code": "AGAIN", "title": "t", "body": "b"}
    first = api.ok(api.post("/reply-templates", again, user="service", key="k-1"), 201)
    assert api.ok(api.post("/reply-templates", again, user="service", key="k-1"), 201) == first
    listed = api.ok(api.get("/reply-templates"))["items"]
    assert [t["code"] for t in listed] == ["AGAIN", "LEAK"]


def test_technicians(api: Api, engine: Engine) -> None:
    service_desk(api, engine)
    listed = api.ok(api.get("/technicians", territory="NORTH"))["items"]
    assert [(t["code"], t["open_repairs"], t["active"]) for t in listed] == [
        ("ANNA", 0, True),
        ("BOB", 0, True),
    ]
    replaced = {**TECHNICIANS[1], "active": False}
    del replaced["code"]
    assert api.ok(api.put("/technicians/BOB", replaced, user="service"))["active"] is False
    assert [t["code"] for t in api.ok(api.get("/technicians", active="false"))["items"]] == ["BOB"]
    assert error(api.post("/technicians", TECHNICIANS[0], user="service"), 409)["code"] == "exists"

    repair = {"customer": "ACME", "kind": "in_shop", "fault": "noisy", "item": "FRAME"}
    number = api.ok(api.post("/repair-orders", repair, user="service"), 201)["number"]
    api.ok(api.post(f"/repair-orders/{number}/assign", {"technician": "CARL"}, user="service"))
    assert error(delete(api, "/technicians/CARL"), 409)["code"] == "in_use"
    # cancelled, it no longer counts; ANNA never had a repair and may go
    cancelled = api.ok(api.post(f"/repair-orders/{number}/cancel", user="service"))
    assert cancelled["status"] == "cancelled"
    assert api.ok(api.get("/technicians/CARL"))["open_repairs"] == 0
    assert delete(api, "/technicians/ANNA").status_code == 204
    assert [t["code"] for t in api.ok(api.get("/technicians"))["items"]] == ["BOB", "CARL"]
