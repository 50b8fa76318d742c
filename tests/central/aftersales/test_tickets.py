"""Service tickets in the domain, at times the tests choose: SLA due dates, breaches, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select

from central.aftersales import replies, sla, tickets
from central.db.aftersales import reply_templates, service_tickets
from central.db.domain import (
    contacts,
    customers,
    items,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
    users,
)
from central.orders.errors import Conflict, Invalid, NotFound

OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
M = timedelta(minutes=1)


def at(hours: float) -> datetime:
    return OPENED + timedelta(hours=hours)


@pytest.fixture
def conn(engine: Engine) -> Any:
    with engine.begin() as conn:
        plant(conn)
        yield conn


def plant(conn: Connection) -> None:
    """Two customers (ACME with a contact), users with and without the service role, an
    item and a serial of it shipped to ACME."""
    conn.execute(
        insert(customers),
        [
            {"code": "ACME", "name": "Acme Pumps", "payment_terms_days": 30, "created_at": OPENED},
            {"code": "BETA", "name": "Beta Mills", "payment_terms_days": 30, "created_at": OPENED},
        ],
    )
    conn.execute(insert(contacts).values(customer_id=1, name="Ann Acme"))
    conn.execute(insert(contacts).values(customer_id=2, name="Ben Beta"))
    conn.execute(
        insert(users),
        [
            {"name": name, "roles": roles, "token_hash": name, "active": True, "created_at": OPENED}
            for name, roles in (
                ("sam", ["service"]),
                ("ada", ["admin"]),
                ("sally", ["sales"]),
            )
        ],
    )
    conn.execute(
        insert(items).values(
            code="PUMP", description="Pump", kind="make", tracking="serial", price_cents=90_000
        )
    )
    conn.execute(
        insert(sales_orders).values(
            number="SO-1", customer_id=1, type="standard", status="shipped", created_at=OPENED
        )
    )
    conn.execute(
        insert(sales_orders).values(
            number="SO-2", customer_id=2, type="standard", status="draft", created_at=OPENED
        )
    )
    conn.execute(
        insert(sales_order_lines).values(
            sales_order_id=1, line_no=1, item_id=1, quantity=1, unit_price_cents=90_000
        )
    )
    conn.execute(
        insert(shipments).values(number="SH-1", sales_order_id=1, shipped_at=OPENED - 30 * 24 * H)
    )
    conn.execute(
        insert(shipment_lines).values(
            shipment_id=1, sales_order_line_id=1, item_id=1, lot="WO-1-0001", quantity=1
        )
    )


def open_one(conn: Connection, now: datetime = OPENED, **fields: Any) -> str:
    values = {
        "customer": "ACME",
        "kind": "complaint",
        "channel": "phone",
        "priority": "normal",
        "subject": "Pump leaks",
        **fields,
    }
    return tickets.open_ticket(conn, now=now, **values)


def user_id(conn: Connection, name: str) -> int:
    return int(conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one())


def test_due_dates_come_from_the_priority_and_a_priority_change_recomputes_them(
    conn: Connection,
) -> None:
    urgent = open_one(conn, priority="urgent")
    assert urgent == "TK-2026-000001"
    shown = tickets.detail(conn, urgent, OPENED)
    # urgent: 1 h to answer, 8 h to resolve
    assert (shown["response_due"], shown["resolution_due"]) == (at(1), at(8))
    assert (shown["status"], shown["customer"], shown["priority"]) == ("open", "ACME", "urgent")

    # later the same day it is found to be low: 24 h / 168 h, still from when it was opened
    tickets.set_priority(conn, urgent, "low")
    shown = tickets.detail(conn, urgent, at(5))
    assert (shown["response_due"], shown["resolution_due"]) == (at(24), at(168))
    assert (shown["response_due_in_minutes"], shown["resolution_due_in_minutes"]) == (
        19 * 60,
        163 * 60,
    )

    # a changed policy applies to tickets opened afterwards only
    sla.set_policy(conn, "high", 2, 12)
    high = open_one(conn, at(1), priority="high")
    assert tickets.detail(conn, high, at(1))["response_due"] == at(3)
    assert tickets.detail(conn, urgent, at(1))["resolution_due"] == at(168)
    assert [p["priority"] for p in sla.policies(conn)] == [
        "urgent",
        "high",
        "normal",
        "low",
    ]
    with pytest.raises(Invalid, match="at most resolution_hours"):
        sla.set_policy(conn, "high", 12, 2)
    with pytest.raises(NotFound):
        sla.set_policy(conn, "whenever", 1, 2)


def test_breaches_are_read_as_of_now(conn: Connection) -> None:
    # normal: answer by 17:00 the same day, resolve by Thursday 09:00
    late = open_one(conn, subject="answered late")
    quick = open_one(conn, subject="answered in time")
    silent = open_one(conn, subject="never answered")
    sam = user_id(conn, "sam")

    before = tickets.detail(conn, silent, at(8) - M)
    assert (before["response_due"], before["resolution_due"]) == (at(8), at(72))
    assert (before["response_breached"], before["response_due_in_minutes"]) == (False, 1)
    after = tickets.detail(conn, silent, at(8) + M)
    assert (after["response_breached"], after["response_due_in_minutes"]) == (True, -1)
    assert after["resolution_breached"] is False

    # an internal note is no answer; the first public reply is, and later ones change nothing
    tickets.add_note(conn, quick, sam, "checking stock of seals", False, at(2))
    assert tickets.detail(conn, quick, at(2))["first_response_at"] is None
    tickets.add_note(conn, quick, sam, "We are on it.", True, at(3))
    tickets.add_note(conn, quick, sam, "A technician comes Tuesday.", True, at(30))
    tickets.add_note(conn, late, sam, "Sorry for the wait.", True, at(8.5))
    answered = tickets.detail(conn, quick, at(100))
    assert answered["first_response_at"] == at(3)
    assert (answered["response_breached"], answered["response_due_in_minutes"]) == (False, None)
    assert [(n["author"], n["public"], n["at"]) for n in answered["notes"]] == [
        ("sam", False, at(2)),
        ("sam", True, at(3)),
        ("sam", True, at(30)),
    ]
    assert tickets.detail(conn, late, at(9))["response_breached"] is True

    # resolved before its due: never breached; reopened after it: breached until resolved
    tickets.resolve(conn, quick, at(71), root_cause="worn seal", corrective_action="new seal")
    assert tickets.detail(conn, quick, at(500))["resolution_breached"] is False
    tickets.reopen(conn, quick)
    reopened = tickets.detail(conn, quick, at(73))
    assert (reopened["status"], reopened["resolved_at"]) == ("open", None)
    assert (reopened["resolution_breached"], reopened["resolution_due_in_minutes"]) == (True, -60)

    def listed(now: datetime, **filters: Any) -> list[str]:
        return [t["subject"] for t in tickets.list_tickets(conn, now, limit=10, **filters)]

    assert listed(at(9), breached=True) == ["answered late", "never answered"]
    assert listed(at(9), breached=False) == ["answered in time"]
    assert listed(at(73), breached=True) == ["answered late", "answered in time", "never answered"]


def test_resolving_without_a_written_reply_answers_the_customer_too(conn: Connection) -> None:
    phoned = open_one(conn, kind="inquiry", subject="sorted on the phone")
    tickets.resolve(conn, phoned, at(2))  # within the 8 h to answer
    later = tickets.detail(conn, phoned, at(500))
    assert (later["first_response_at"], later["response_breached"]) == (None, False)
    assert later["response_due_in_minutes"] is None
    assert [t["subject"] for t in tickets.list_tickets(conn, at(500), breached=True, limit=5)] == []
    tickets.reopen(conn, phoned)  # open again, unanswered in writing, past its due
    assert tickets.detail(conn, phoned, at(500))["response_breached"] is True


def test_the_list_is_by_resolution_due_with_filters_and_pages(conn: Connection) -> None:
    low = open_one(conn, priority="low", subject="low")
    urgent = open_one(conn, at(2), priority="urgent", subject="urgent")
    normal = open_one(conn, at(1), priority="normal", subject="normal", customer="BETA")
    tickets.assign(conn, normal, "sam")

    everything = tickets.list_tickets(conn, at(3), limit=10)
    assert [t["number"] for t in everything] == [urgent, normal, low]
    assert [t["resolution_due"] for t in everything] == [at(10), at(73), at(168)]
    first = everything[0]
    assert first["resolution_due_in_minutes"] == 7 * 60
    assert (first["assignee"], first["contact"]) == (None, None)
    after = (everything[0]["resolution_due"], everything[0]["number"])
    assert [t["number"] for t in tickets.list_tickets(conn, at(3), limit=10, after=after)] == [
        normal,
        low,
    ]

    def numbers(**filters: Any) -> list[str]:
        return [t["number"] for t in tickets.list_tickets(conn, at(3), limit=10, **filters)]

    assert numbers(assignee="sam") == [normal]
    assert numbers(customer="BETA") == [normal]
    assert numbers(priority=["low", "urgent"]) == [urgent, low]
    tickets.start(conn, low)
    assert numbers(status=["in_progress"]) == [low]
    assert numbers(status=["open"], customer="ACME") == [urgent]


def test_status_flow_root_cause_and_feedback(conn: Connection) -> None:
    complaint = open_one(conn)

    with pytest.raises(Conflict, match="becomes closed only from resolved"):
        tickets.close(conn, complaint, at(1), satisfaction=5)
    tickets.start(conn, complaint)
    tickets.wait(conn, complaint)
    tickets.start(conn, complaint)
    with pytest.raises(Invalid) as refused:
        tickets.resolve(conn, complaint, at(2), root_cause="worn seal")
    assert (refused.value.code, refused.value.field) == (
        "corrective_action_required",
        "corrective_action",
    )
    assert tickets.detail(conn, complaint, at(2))["status"] == "in_progress"
    tickets.resolve(
        conn, complaint, at(2), root_cause="worn seal", corrective_action="seal replaced"
    )
    with pytest.raises(Conflict, match="only from open or in_progress"):
        tickets.wait(conn, complaint)
    # reopened and resolved again: the cause and action found before still count
    tickets.reopen(conn, complaint)
    tickets.resolve(conn, complaint, at(3))
    with pytest.raises(Invalid, match="satisfaction is 1 to 5"):
        tickets.close(conn, complaint, at(4), satisfaction=6)
    tickets.close(conn, complaint, at(4), satisfaction=4, feedback="quick, thanks")
    shown = tickets.detail(conn, complaint, at(5))
    assert (shown["status"], shown["resolved_at"], shown["closed_at"]) == ("closed", at(3), at(4))
    assert (shown["root_cause"], shown["corrective_action"]) == ("worn seal", "seal replaced")
    assert (shown["satisfaction"], shown["feedback"]) == (4, "quick, thanks")
    with pytest.raises(Conflict, match="feedback already"):
        tickets.record_feedback(conn, complaint, 5)
    with pytest.raises(Conflict, match="closed"):
        tickets.add_note(conn, complaint, user_id(conn, "sam"), "one more thing", True, at(6))
    with pytest.raises(Conflict, match="only from resolved"):
        tickets.reopen(conn, complaint)

    # an inquiry resolves without a cause; its feedback may come after closing, once
    inquiry = open_one(conn, kind="inquiry", channel="email", subject="Manual?")
    tickets.resolve(conn, inquiry, at(1))
    tickets.close(conn, inquiry, at(2))
    tickets.record_feedback(conn, inquiry, 5, "great")
    shown = tickets.detail(conn, inquiry, at(3))
    assert (shown["satisfaction"], shown["feedback"]) == (5, "great")
    with pytest.raises(Conflict, match="feedback already"):
        tickets.record_feedback(conn, inquiry, 1)
    warranty = open_one(conn, kind="warranty_claim")
    with pytest.raises(Invalid, match="root cause"):
        tickets.resolve(conn, warranty, at(1))
    with pytest.raises(Conflict, match="close it"):
        tickets.record_feedback(conn, warranty, 3)


def test_assignment_and_what_opening_refuses(conn: Connection) -> None:
    number = open_one(conn, contact_id=1, sales_order="SO-1", lot="WO-1-0001")
    shown = tickets.detail(conn, number, OPENED)
    # the serial was shipped to ACME: it names the item
    assert (shown["contact"], shown["sales_order"], shown["item"], shown["lot"]) == (
        "Ann Acme",
        "SO-1",
        "PUMP",
        "WO-1-0001",
    )
    tickets.assign(conn, number, "sam")
    tickets.assign(conn, number, "ada")
    assert tickets.detail(conn, number, OPENED)["assignee"] == "ada"
    tickets.assign(conn, number, None)
    assert tickets.detail(conn, number, OPENED)["assignee"] is None

    refusals = [
        (lambda: tickets.assign(conn, number, "sally"), "not_service"),
        (lambda: tickets.assign(conn, number, "nobody"), "unknown_user"),
        (lambda: open_one(conn, customer="NONE"), "unknown_customer"),
        (lambda: open_one(conn, contact_id=2), "unknown_contact"),  # BETA's contact
        (lambda: open_one(conn, sales_order="SO-2"), "unknown_sales_order"),  # BETA's order
        (lambda: open_one(conn, item="NONE"), "unknown_item"),
        (lambda: open_one(conn, kind="praise"), "invalid_kind"),
        (lambda: open_one(conn, subject="  "), "subject_required"),
    ]
    for refuse, code in refusals:
        with pytest.raises(Invalid) as refused:
            refuse()
        assert refused.value.code == code
    count = conn.execute(select(service_tickets.c.id)).all()
    assert len(count) == 1
    with pytest.raises(NotFound):
        tickets.detail(conn, "TK-0", OPENED)


def test_templates_are_found_by_every_word_keyword_hits_first(conn: Connection) -> None:
    conn.execute(
        insert(reply_templates),
        [
            {
                "code": "LEAK",
                "title": "Leaking pump",
                "body": "Dear {contact}, about {ticket} ({subject}): a seal kit is on its way.",
                "keywords": ["Seal", "leak"],
            },
            {
                "code": "DELAY",
                "title": "Delivery delayed",
                "body": "Dear {customer}, your seal order is late. {unknown} {not a placeholder",
                "keywords": ["delivery", "late"],
            },
            {
                "code": "KÜHL",
                "title": "Kühlmittel",
                "body": "Coolant for {customer}.",
                "keywords": ["KÜHLUNG"],
            },
        ],
    )

    def found(q: str) -> list[str]:
        return [t["code"] for t in replies.search_templates(conn, q, 10)]

    # "seal" is a keyword of LEAK and only in the body of DELAY
    assert found("SEAL") == ["LEAK", "DELAY"]
    assert found("seal late") == ["DELAY"]
    assert found("pump leak") == ["LEAK"]
    assert found("kühlung") == ["KÜHL"]
    assert found("100%_") == []
    assert found("seal missing") == []

    number = open_one(conn, contact_id=1, subject="Pump leaks")
    assert replies.render_reply(conn, number, "LEAK") == {
        "template": "LEAK",
        "ticket": number,
        "title": "Leaking pump",
        "body": f"Dear Ann Acme, about {number} (Pump leaks): a seal kit is on its way.",
    }
    # no contact: the customer is addressed; unknown placeholders stay as they are
    other = open_one(conn)
    assert replies.render_reply(conn, other, "DELAY")["body"] == (
        "Dear Acme Pumps, your seal order is late. {unknown} {not a placeholder"
    )
    assert replies.render_reply(conn, other, "LEAK")["body"].startswith("Dear Acme Pumps,")
    with pytest.raises(NotFound):
        replies.render_reply(conn, other, "NONE")
