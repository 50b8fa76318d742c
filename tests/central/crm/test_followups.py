"""My day at 09:00 UTC on 2026-03-10: which tasks, deals, quotes and renewals it lists."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert

from central.crm import followups as flow
from central.crm import opportunities
from central.db.crm import quotes
from central.db.domain import sales_orders
from central.orders.errors import Conflict
from tests.central.crm.support import NOW, customer, user

HOUR = timedelta(hours=1)
TODAY = NOW.date()


def task(conn: Connection, owner: int, title: str, due: Any, **kw: Any) -> int:
    return flow.create(
        conn, {"owner_id": owner, "kind": "call", "title": title, "due_at": due, **kw}, NOW
    )


def quote(
    conn: Connection, number: str, customer_id: int, by: int, status: str, valid: date
) -> None:
    conn.execute(
        insert(quotes).values(
            number=number,
            version=1,
            customer_id=customer_id,
            status=status,
            order_type="standard",
            valid_until=valid,
            created_by=by,
            created_at=NOW,
        )
    )


def contract(conn: Connection, number: str, customer_id: int, due: date, **kw: Any) -> None:
    values = {
        "number": number,
        "customer_id": customer_id,
        "type": "service_contract",
        "status": "confirmed",
        "due_date": due,
        "created_at": NOW,
        **kw,
    }
    conn.execute(insert(sales_orders).values(**values))


def test_my_day_lists_what_is_due_for_its_owner_only(engine: Engine) -> None:
    with engine.begin() as conn:
        ana, ben = user(conn, "ana"), user(conn, "ben")
        mine = customer(conn, "MINE", owner_id=ana)
        theirs = customer(conn, "THEIRS", owner_id=ben)
        task(conn, ana, "yesterday", NOW - 20 * HOUR, customer_id=mine)
        task(conn, ana, "this morning", NOW - HOUR)
        task(conn, ana, "this afternoon", NOW + 5 * HOUR)
        task(conn, ana, "tomorrow", NOW + 15 * HOUR)  # 00:00 on the 11th: not today
        done = task(conn, ana, "done", NOW - HOUR)
        flow.complete(conn, done, NOW)
        task(conn, ben, "ben's", NOW)

        def deal(name: str, days: int, owner: int, stage: str = "qualify") -> None:
            opportunities.create(
                conn,
                name=name,
                customer_id=mine,
                amount_cents=1,
                expected_close=TODAY + timedelta(days=days),
                owner_id=owner,
                by_id=owner,
                now=NOW,
                stage=stage,
            )

        deal("in a week", 7, ana)
        deal("late", -2, ana, "proposal")
        deal("in eight days", 8, ana)
        deal("ben's", 1, ben)
        quote(conn, "QT-1", mine, ben, "sent", TODAY + timedelta(days=7))  # my customer's
        quote(conn, "QT-2", theirs, ana, "sent", TODAY)  # mine: I made it
        quote(conn, "QT-3", mine, ana, "sent", TODAY + timedelta(days=8))
        quote(conn, "QT-4", mine, ana, "draft", TODAY)
        quote(conn, "QT-5", theirs, ben, "sent", TODAY)
        quote(conn, "QT-6", mine, ana, "sent", TODAY - timedelta(days=1))  # expired
        contract(conn, "SO-1", mine, TODAY + timedelta(days=30))
        contract(conn, "SO-2", mine, TODAY + timedelta(days=31))
        contract(conn, "SO-3", mine, TODAY + timedelta(days=3), status="cancelled")
        contract(conn, "SO-4", theirs, TODAY + timedelta(days=3))
        contract(conn, "SO-5", mine, TODAY + timedelta(days=3), type="standard")
        day = flow.my_day(conn, ana, NOW)
        with pytest.raises(Conflict):
            flow.complete(conn, done, NOW)
    assert day["date"] == TODAY
    assert [t["title"] for t in day["overdue"]] == ["yesterday", "this morning"]
    assert day["overdue"][0]["customer"] == "MINE"
    assert [t["title"] for t in day["today"]] == ["this afternoon"]
    assert [o["name"] for o in day["closing"]] == ["late", "in a week"]
    assert [(q["number"], q["customer"]) for q in day["quotes_expiring"]] == [
        ("QT-2", "THEIRS"),
        ("QT-1", "MINE"),
    ]
    assert [s["number"] for s in day["renewals"]] == ["SO-1"]


def test_a_won_deal_is_not_closing_any_more(engine: Engine) -> None:
    with engine.begin() as conn:
        ana = user(conn, "ana")
        acme = customer(conn, owner_id=ana)
        number = opportunities.create(
            conn,
            name="x",
            customer_id=acme,
            amount_cents=1,
            expected_close=TODAY,
            owner_id=ana,
            by_id=ana,
            now=NOW,
        )
        opportunities.move(conn, number, "won", by_id=ana, now=NOW)
        assert flow.my_day(conn, ana, NOW)["closing"] == []
        task_id = task(conn, ana, "t", NOW)
        flow.update_task(conn, task_id, {"title": "renamed", "customer_id": acme})
        shown = flow.task(conn, task_id)
    assert (shown["title"], shown["customer"], shown["owner"]) == ("renamed", "ACME", "ana")
