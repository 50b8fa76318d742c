"""Opportunities through the stages, the board, the forecast and the conversion rates, with
figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select

from central.crm import opportunities as flow
from central.db.crm import assignment_rules
from central.db.domain import customers
from central.orders.errors import Conflict, Invalid
from tests.central.crm.support import NOW, customer, user

DAY = timedelta(days=1)


def deal(conn: Connection, name: str, amount: int, close: date, owner: int, **kw: Any) -> str:
    acme = conn.execute(select(customers.c.id).where(customers.c.code == "ACME")).scalar_one()
    return flow.create(
        conn,
        name=name,
        customer_id=acme,
        amount_cents=amount,
        expected_close=close,
        owner_id=owner,
        by_id=owner,
        now=NOW,
        **kw,
    )


def book(conn: Connection) -> dict[str, Any]:
    """Six deals of two owners: three open in range, one won, one lost, one far out.

    A  100,000 qualify      closes 2026-03-20  ana
    B  200,000 proposal     closes 2026-03-31  ben
    C   80,000 negotiation  closes 2026-04-15  ana   (qualify -> analysis -> negotiation)
    D   50,000 won 03-12    closes 2026-03-25  ana   (qualify -> analysis -> won)
    E   30,000 lost 03-11   closes 2026-03-28  ben   (qualify -> lost)
    F      999 qualify      closes 2027-01-01  ben
    """
    ana, ben = user(conn, "ana"), user(conn, "ben")
    customer(conn)
    n = {
        "A": deal(conn, "A", 100_000, date(2026, 3, 20), ana),
        "B": deal(conn, "B", 200_000, date(2026, 3, 31), ben, stage="proposal"),
        "C": deal(conn, "C", 80_000, date(2026, 4, 15), ana),
        "D": deal(conn, "D", 50_000, date(2026, 3, 25), ana),
        "E": deal(conn, "E", 30_000, date(2026, 3, 28), ben),
        "F": deal(conn, "F", 999, date(2027, 1, 1), ben),
    }
    flow.move(conn, n["C"], "analysis", by_id=ana, now=NOW + DAY)
    flow.move(conn, n["C"], "negotiation", by_id=ana, now=NOW + 2 * DAY)
    flow.move(conn, n["D"], "analysis", by_id=ana, now=NOW + DAY)
    flow.move(conn, n["D"], "won", by_id=ana, now=NOW + 2 * DAY)
    flow.move(conn, n["E"], "lost", by_id=ben, now=NOW + DAY, lost_reason="price")
    return n


def test_the_forecast_by_month_and_by_owner(engine: Engine) -> None:
    with engine.begin() as conn:
        book(conn)
        by_month = flow.forecast(conn, "month", date(2026, 3, 1), date(2026, 4, 30))
        by_owner = flow.forecast(conn, "owner", date(2026, 3, 1), date(2026, 4, 30))
    # March: A 10 % of 100,000 + B 50 % of 200,000; April: C 75 % of 80,000; D won in March
    assert by_month["rows"] == [
        {
            "month": "2026-03",
            "count": 2,
            "amount_cents": 300_000,
            "weighted_cents": 110_000,
            "won_cents": 50_000,
        },
        {
            "month": "2026-04",
            "count": 1,
            "amount_cents": 80_000,
            "weighted_cents": 60_000,
            "won_cents": 0,
        },
    ]
    assert by_month["total"] == {
        "count": 3,
        "amount_cents": 380_000,
        "weighted_cents": 170_000,
        "won_cents": 50_000,
    }
    assert by_owner["rows"] == [
        {
            "owner": "ana",
            "count": 2,
            "amount_cents": 180_000,
            "weighted_cents": 70_000,
            "won_cents": 50_000,
        },
        {
            "owner": "ben",
            "count": 1,
            "amount_cents": 200_000,
            "weighted_cents": 100_000,
            "won_cents": 0,
        },
    ]


def test_the_forecast_rounds_once_per_month_and_stage_and_takes_won_by_utc_day(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        ana = user(conn, "ana")
        customer(conn)
        # 10 % of 5 is 0.5 each day, which rounds to 0; of the month's 10 it is 1
        deal(conn, "A", 5, date(2026, 5, 1), ana)
        deal(conn, "B", 5, date(2026, 5, 2), ana)
        late, early = (
            deal(conn, "C", 700, date(2026, 5, 20), ana),
            deal(conn, "D", 30, date(2026, 5, 20), ana),
        )
        for number, won_at in (
            (late, datetime(2026, 5, 31, 23, 59, tzinfo=UTC)),
            (early, datetime(2026, 6, 1, tzinfo=UTC)),
        ):
            flow.move(conn, number, "analysis", by_id=ana, now=NOW)
            flow.move(conn, number, "won", by_id=ana, now=won_at)
        may = flow.forecast(conn, "month", date(2026, 5, 1), date(2026, 5, 31))
        june = flow.forecast(conn, "month", date(2026, 6, 1), date(2026, 6, 30))
    assert may["rows"] == [
        {"month": "2026-05", "count": 2, "amount_cents": 10, "weighted_cents": 1, "won_cents": 700}
    ]
    assert june["rows"] == [
        {"month": "2026-06", "count": 0, "amount_cents": 0, "weighted_cents": 0, "won_cents": 30}
    ]


def test_stage_conversion_counts_entries_and_what_followed(engine: Engine) -> None:
    with engine.begin() as conn:
        book(conn)
        stages = {s["stage"]: s for s in flow.conversion(conn)["stages"]}
    # entered qualify: A C D E F; of those C and D went further (lost does not count), D won
    assert stages["qualify"] == {
        "stage": "qualify",
        "entered": 5,
        "advanced": 2,
        "won": 1,
        "advanced_share": 0.4,
        "won_share": 0.2,
    }
    assert (stages["analysis"]["entered"], stages["analysis"]["advanced"]) == (2, 2)
    assert stages["analysis"]["won"] == 1
    assert (stages["proposal"]["entered"], stages["proposal"]["advanced"]) == (1, 0)
    assert stages["negotiation"]["entered"] == 1 and stages["negotiation"]["won"] == 0
    assert stages["won"]["entered"] == 1 and stages["lost"]["entered"] == 1
    assert stages["lost"]["advanced_share"] == 0.0


def test_the_board_counts_everything_and_shows_the_soonest(engine: Engine) -> None:
    with engine.begin() as conn:
        book(conn)
        board = flow.board(conn, cards=1)
    qualify = board["stages"][0]
    assert [c["stage"] for c in board["stages"]] == [
        "qualify",
        "analysis",
        "proposal",
        "negotiation",
    ]
    assert (qualify["count"], qualify["amount_cents"], qualify["weighted_cents"]) == (
        2,
        100_999,
        10_100,
    )
    assert [o["name"] for o in qualify["opportunities"]] == ["A"]  # closes first
    assert qualify["opportunities"][0]["weighted_cents"] == 10_000
    assert board["stages"][1]["count"] == 0
    assert board["weighted_cents"] == 10_100 + 100_000 + 60_000


def test_moves_are_kept_and_closing_rules_hold(engine: Engine) -> None:
    with engine.begin() as conn:
        n = book(conn)
        with pytest.raises(Invalid, match="reason"):
            flow.move(conn, n["A"], "lost", by_id=None, now=NOW)
        with pytest.raises(Conflict):
            flow.move(conn, n["D"], "lost", by_id=None, now=NOW, lost_reason="x")
        with pytest.raises(Invalid):
            flow.move(conn, n["A"], "nowhere", by_id=None, now=NOW)
        assert flow.move(conn, n["A"], "qualify", by_id=None, now=NOW) is False
        flow.move(conn, n["D"], "negotiation", by_id=None, now=NOW + 3 * DAY)  # reopened
        d = flow.detail(conn, n["D"])
        e = flow.detail(conn, n["E"])
    assert d["stage"] == "negotiation" and d["closed_at"] is None
    assert [(h["stage"], h["previous"], h["by"]) for h in d["history"]] == [
        ("qualify", None, "ana"),
        ("analysis", "qualify", "ana"),
        ("won", "analysis", "ana"),
        ("negotiation", "won", None),
    ]
    assert e["closed_at"] == NOW + DAY and e["lost_reason"] == "price"


def test_a_new_deal_without_an_owner_gets_one_from_the_first_matching_rule(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        ana, ben, cy = user(conn, "ana"), user(conn, "ben"), user(conn, "cy")
        rules = [
            {"position": 1, "territory": "NORTH", "tier": "B", "owner_id": ana},
            {"position": 2, "product_line": "PUMPS", "owner_id": ben},
            {"position": 3, "territory": "NORTH", "owner_id": cy},
        ]
        for rule in rules:
            conn.execute(insert(assignment_rules).values(**rule))
        north_a = customer(conn, "N-A", territory="NORTH", tier="A")
        north_b = customer(conn, "N-B", territory="NORTH", tier="B")
        south = customer(conn, "S", territory="SOUTH", tier="B")

        def owner_of(customer_id: int, product_line: str | None = None) -> str | None:
            number = flow.create(
                conn,
                name="x",
                customer_id=customer_id,
                amount_cents=1,
                expected_close=date(2026, 5, 1),
                by_id=None,
                now=NOW,
                product_line=product_line,
            )
            return flow.detail(conn, number)["owner"]

        assert owner_of(north_b, "PUMPS") == "ana"
        assert owner_of(north_a, "PUMPS") == "ben"
        assert owner_of(north_a) == "cy"
        assert owner_of(south) is None
