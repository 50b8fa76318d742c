"""The quotes API: roles, refusals, the flow from draft to sales order, and the PDF."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from central.db.crm import quotes
from tests.central.api.conftest import Api, plant

TODAY = datetime.now(UTC).date()
FRAMES = {"item": "FRAME", "quantity": 4, "discount_pct": 10}  # 4 x 112.50


def new_quote(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"customer": "ACME", "lines": [FRAMES], **fields}
    quote: dict[str, Any] = api.ok(api.post("/quotes", body, user="sales"), 201)
    return quote


def pdf_text(content: bytes) -> bytes:
    """The page content of a PDF, its Flate streams inflated."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream))
        except zlib.error:
            out.append(stream)
    return b"\n".join(out)


def test_a_quote_goes_from_draft_to_an_accepted_sales_order(api: Api) -> None:
    plant(api)
    quote = new_quote(api, order_type="make_to_order", notes="ex works")
    number = quote["number"]
    assert (quote["status"], quote["version"]) == ("draft", 1)
    assert quote["valid_until"] == (TODAY + timedelta(days=30)).isoformat()
    assert quote["totals"] == {"list_cents": 50_000, "discount_cents": 5_000, "net_cents": 45_000}

    changed = {"order_type": "make_to_order", "lines": [{**FRAMES, "discount_pct": 12.5}]}
    quote = api.ok(api.put(f"/quotes/{number}", changed, user="sales"))
    assert quote["needs_approval"] is True and quote["approval"]["state"] == "required"

    assert (
        api.ok(api.post(f"/quotes/{number}/submit", user="sales"))["status"] == "pending_approval"
    )
    refused = api.post(f"/quotes/{number}/send", user="sales")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "needs_approval"
    assert api.post(f"/quotes/{number}/approve", user="sales").status_code == 403
    quote = api.ok(api.post(f"/quotes/{number}/approve", user="admin"))
    assert quote["approval"]["approved_by"] == "admin"
    assert api.ok(api.post(f"/quotes/{number}/send", user="sales"))["status"] == "sent"

    listed = api.ok(api.get("/quotes", customer="ACME", status="sent"))["items"]
    assert [(q["number"], q["totals"]["net_cents"]) for q in listed] == [
        (number, 43_752)
    ]  # 4 x 109.38

    body = {"confirm": True, "due_date": "2027-03-01", "customer_reference": "PO 1"}
    accepted = api.ok(api.post(f"/quotes/{number}/accept", body, user="sales"))
    order = accepted["sales_order"]
    assert accepted["status"] == "accepted" and accepted["confirmation"]["status"] == "confirmed"
    so = api.ok(api.get(f"/sales-orders/{order}"))
    assert (so["type"], so["status"], so["customer_reference"]) == (
        "make_to_order",
        "confirmed",
        "PO 1",
    )
    assert [(ln["item"], ln["quantity"], ln["unit_price_cents"]) for ln in so["lines"]] == [
        ("FRAME", 4.0, 10_938)  # 125.00 less 12.5 % = 109.375, half up
    ]
    again = api.post(f"/quotes/{number}/accept", body, user="sales")
    assert again.status_code == 409 and again.json()["error"]["code"] == "accepted"


def test_revisions_keep_their_versions(api: Api) -> None:
    plant(api)
    number = new_quote(api)["number"]
    api.ok(api.post(f"/quotes/{number}/submit", user="sales"))
    api.ok(api.post(f"/quotes/{number}/send", user="sales"))
    revised = api.ok(api.post(f"/quotes/{number}/revise", user="sales"), 201)
    assert (revised["version"], revised["status"], revised["versions"]) == (2, "draft", [1, 2])
    assert api.ok(api.get(f"/quotes/{number}", version=1))["status"] == "superseded"
    assert api.get(f"/quotes/{number}", version=3).status_code == 404
    listed = api.ok(api.get("/quotes"))["items"]
    assert [(q["number"], q["version"]) for q in listed] == [(number, 2)]  # the latest only
    assert api.ok(api.get("/quotes", status="superseded"))["items"] == []


def test_the_pdf_prints_the_quote(api: Api) -> None:
    plant(api)
    api.ok(
        api.put(
            "/customers/ACME",
            {"name": "Zakłady Łódź", "address": "Industriestraße 5\n31-000 Kraków"},
            user="sales",
        )
    )
    specs = {"coating": "RAL 5010"}
    number = new_quote(
        api,
        order_type="engineered",
        lines=[{**FRAMES, "technical_specs": specs}],
    )["number"]
    api.ok(api.post(f"/quotes/{number}/revise", user="sales"), 409)  # a draft: change it
    api.ok(api.post(f"/quotes/{number}/submit", user="sales"))
    api.ok(api.post(f"/quotes/{number}/revise", user="sales"), 201)

    response = api.get(f"/quotes/{number}/pdf", version=1)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="{number}-v1.pdf"'
    content = response.content
    assert content.startswith(b"%PDF-")
    assert f"/Title (Quote {number} v1)".encode() in content
    text = pdf_text(content)
    for shown in (
        number.encode(),
        "Zaklady Lódz".encode("latin-1"),
        "Industriestraße 5".encode("latin-1"),
        "31-000 Kraków".encode("latin-1"),
        b"112.50",
        b"450.00",
        b"RAL 5010",
    ):
        assert shown in text, shown
    latest = api.get(f"/quotes/{number}/pdf")
    assert latest.headers["content-disposition"] == f'inline; filename="{number}-v2.pdf"'


def test_writes_need_sales_and_approval_an_admin(api: Api) -> None:
    plant(api)
    body = {"customer": "ACME", "lines": [FRAMES]}
    assert api.post("/quotes", body, user=None).status_code == 401
    assert api.get("/quotes", user=None).status_code == 401
    assert api.post("/quotes", body, user="planner").status_code == 403
    number = new_quote(api, lines=[{**FRAMES, "discount_pct": 30}])["number"]
    api.ok(api.post(f"/quotes/{number}/submit", user="sales"))
    for path in ("approve", "reject-approval"):
        reason = {"reason": "no"} if path == "reject-approval" else None
        refused = api.post(f"/quotes/{number}/{path}", reason, user="sales")
        assert refused.status_code == 403 and refused.json()["error"]["details"]["roles"] == [
            "admin"
        ]
    quote = api.ok(api.post(f"/quotes/{number}/reject-approval", {"reason": "30 %?"}))
    assert quote["status"] == "draft"
    # quotes are sales documents with their prices: sales and admin read them, no one else
    assert api.get(f"/quotes/{number}", user="planner").status_code == 403
    assert api.get(f"/quotes/{number}/pdf", user="service").status_code == 403
    assert api.get("/pipeline", user="supervisor").status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"customer": "ACME", "lines": []},
        {"customer": "ACME", "lines": [{"item": "FRAME", "quantity": -1}]},
        {"customer": "ACME", "lines": [{"item": "FRAME", "quantity": 1e300}]},
        {"customer": "ACME", "lines": [{"item": "FRAME", "quantity": 1, "discount_pct": 100.5}]},
        {"customer": "ACME", "lines": [{**FRAMES, "unit_price_cents": 100}]},
        {
            "customer": "ACME",
            "lines": [{"item": "FRAME", "quantity": 1, "unit_price_cents": 2**63}],
        },
        {"customer": "ACME", "lines": [FRAMES], "order_type": "bespoke"},
        {"customer": "ACME", "lines": [FRAMES], "valid_until": "2020-01-01"},
        {"customer": "ACME", "lines": [FRAMES], "valid_until": "9999-12-31"},
        {"customer": "ACME", "lines": [FRAMES], "surprise": 1},
        {"customer": "NOBODY", "lines": [FRAMES]},
        {"customer": "ACME", "lines": [{"item": "NOPE", "quantity": 1}]},
        {"customer": "ACME", "lines": [FRAMES], "order_type": "engineered"},
        {"customer": "ACME", "lines": [FRAMES], "opportunity": "OP-2026-999999"},
    ],
)
def test_bad_quotes_are_422(sqlite_api: Api, body: dict[str, Any]) -> None:
    plant(sqlite_api)
    assert sqlite_api.post("/quotes", body, user="sales").status_code == 422


def test_bad_reads_and_unknown_quotes(sqlite_api: Api) -> None:
    api = sqlite_api
    assert api.get("/quotes/QT-1", version=0).status_code == 422
    assert api.get("/quotes/QT-1", version=2**63).status_code == 422
    assert api.get("/quotes", status="lost").status_code == 422
    assert api.get("/quotes/QT-1").status_code == 404
    assert api.get("/quotes/QT-1/pdf").status_code == 404
    assert api.post("/quotes/QT-1/accept", {"confirm": "maybe"}, user="sales").status_code == 422
    assert api.post("/quotes/QT-1/accept", user="sales").status_code == 404
    assert api.post("/quotes/QT-1/reject", {"reason": ""}, user="sales").status_code == 422


def test_an_expired_quote_is_refused_and_stored_expired(sqlite_api: Api) -> None:
    api = sqlite_api
    plant(api)
    number = new_quote(api, valid_until=TODAY.isoformat())["number"]
    api.ok(api.post(f"/quotes/{number}/submit", user="sales"))
    api.ok(api.post(f"/quotes/{number}/send", user="sales"))
    # the validity ran out: moved back in the database, as a day passing would
    engine = api.client.app.state.sync.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(quotes).values(valid_until=TODAY - timedelta(days=1)))
    assert api.ok(api.get(f"/quotes/{number}"))["status"] == "expired"
    assert [q["number"] for q in api.ok(api.get("/quotes", status="expired"))["items"]] == [number]
    refused = api.post(f"/quotes/{number}/accept", user="sales")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "expired"
    with engine.connect() as conn:
        assert conn.execute(quotes.select()).one().status == "expired"  # stored when touched
