"""Leads: assignment, qualification, conversion (with duplicate candidates), and the share
of each source that converted and won."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, insert, select

from central.crm import leads as flow
from central.crm import opportunities
from central.db.crm import assignment_rules
from central.db.domain import contacts, customers
from central.orders.errors import Conflict, Invalid
from tests.central.crm.support import NOW, customer, user

CLOSE = date(2026, 6, 30)


def test_a_lead_is_numbered_assigned_and_qualified(engine: Engine) -> None:
    with engine.begin() as conn:
        ana = user(conn, "ana")
        conn.execute(
            insert(assignment_rules).values(position=1, product_line="PUMPS", owner_id=ana)
        )
        number = flow.create(
            conn, {"company": "NV", "product_line": "PUMPS"}, source="web_form", now=NOW
        )
        other = flow.create(conn, {"company": "X"}, source="import", now=NOW)
        assert number == "LD-2026-000001" and other == "LD-2026-000002"
        assert flow.detail(conn, number)["owner"] == "ana"
        assert flow.detail(conn, other)["owner"] is None

        flow.qualify(conn, number, {"budget_cents": 5_000, "need": "two pumps"}, "contacted", None)
        with pytest.raises(Invalid):
            flow.qualify(conn, number, {}, "disqualified", " ")
        flow.qualify(conn, number, {}, "disqualified", "no budget")
        with pytest.raises(Conflict):
            flow.qualify(conn, number, {}, "qualified", None)  # reopen to contacted first
        flow.qualify(conn, number, {}, "contacted", None)
        shown = flow.detail(conn, number)
    assert shown["status"] == "contacted" and shown["disqualified_reason"] is None
    assert shown["budget_cents"] == 5_000 and shown["source"] == "web_form"


def test_conversion_asks_which_customer_when_one_may_be_the_same(engine: Engine) -> None:
    with engine.begin() as conn:
        sam = user(conn, "sam")
        customer(conn, "NV", name="nordic valves")
        customer(conn, "OTHER", name="Other", email="ida@nv.example")
        number = flow.create(
            conn,
            {"company": "Nordic Valves", "email": "IDA@nv.example", "contact_name": "Ida"},
            source="manual",
            now=NOW,
        )
        with pytest.raises(flow.PossibleDuplicate) as refused:
            flow.convert(conn, number, amount_cents=1, expected_close=CLOSE, by_id=sam, now=NOW)
        assert [c["code"] for c in refused.value.candidates] == ["NV", "OTHER"]
        made = flow.convert(
            conn,
            number,
            amount_cents=90_000,
            expected_close=CLOSE,
            by_id=sam,
            now=NOW,
            customer="NV",
            name="Valve retrofit",
        )
        shown = flow.detail(conn, number)
        deal = opportunities.detail(conn, str(made["opportunity"]))
        people = conn.execute(select(contacts.c.name, contacts.c.email)).all()
        with pytest.raises(Conflict):
            flow.convert(
                conn,
                number,
                amount_cents=1,
                expected_close=CLOSE,
                by_id=sam,
                now=NOW,
                customer="NV",
            )
    assert made == {"customer": "NV", "opportunity": "OP-2026-000001"}
    assert shown["status"] == "converted" and shown["converted_at"] == NOW
    assert shown["customer"] == "NV" and shown["opportunity"] == "OP-2026-000001"
    assert shown["contact_id"] is not None
    assert (deal["name"], deal["stage"], deal["amount_cents"]) == (
        "Valve retrofit",
        "qualify",
        90_000,
    )
    assert deal["expected_close"] == CLOSE and deal["source"] == "manual"
    assert [tuple(p) for p in people] == [("Ida", "IDA@nv.example")]


def test_without_a_match_conversion_makes_the_customer(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "FRESH-CO")  # a code the made one must not take
        first = flow.create(
            conn, {"company": "Fresh Co", "territory": "NORTH"}, source="manual", now=NOW
        )
        second = flow.create(conn, {"company": "Acme Pumps"}, source="manual", now=NOW)
        made = flow.convert(conn, first, amount_cents=1, expected_close=CLOSE, by_id=None, now=NOW)
        named = flow.convert(
            conn,
            second,
            amount_cents=1,
            expected_close=CLOSE,
            by_id=None,
            now=NOW,
            new_customer={"code": "ACME-2", "tier": "B"},
        )
        rows = {r.code: r for r in conn.execute(select(customers))}
        no_contact = flow.detail(conn, first)["contact_id"]
    assert made["customer"] == "FRESH-CO-2" and rows["FRESH-CO-2"].territory == "NORTH"
    assert named["customer"] == "ACME-2" and rows["ACME-2"].tier == "B"
    assert rows["ACME-2"].name == "Acme Pumps"
    assert no_contact is None  # the lead named nobody


def test_source_to_win_conversion(engine: Engine) -> None:
    """web form: 2 leads, 1 converted and won; manual: 1 converted, still open;
    import: 1 disqualified."""
    with engine.begin() as conn:
        web = [
            flow.create(conn, {"company": f"W{i}"}, source="web_form", now=NOW) for i in range(2)
        ]
        manual = flow.create(conn, {"company": "M"}, source="manual", now=NOW)
        imported = flow.create(conn, {"company": "I"}, source="import", now=NOW)
        won = flow.convert(conn, web[0], amount_cents=1, expected_close=CLOSE, by_id=None, now=NOW)
        flow.convert(conn, manual, amount_cents=1, expected_close=CLOSE, by_id=None, now=NOW)
        flow.qualify(conn, imported, {}, "disqualified", "student project")
        opportunities.move(conn, str(won["opportunity"]), "won", by_id=None, now=NOW)
        sources = opportunities.conversion(conn)["sources"]
    assert sources == [
        {
            "source": "import",
            "leads": 1,
            "converted": 0,
            "won": 0,
            "converted_share": 0.0,
            "won_share": None,
        },
        {
            "source": "manual",
            "leads": 1,
            "converted": 1,
            "won": 0,
            "converted_share": 1.0,
            "won_share": 0.0,
        },
        {
            "source": "web_form",
            "leads": 2,
            "converted": 1,
            "won": 1,
            "converted_share": 0.5,
            "won_share": 1.0,
        },
    ]
