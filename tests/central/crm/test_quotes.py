"""Quotes in the domain: prices and totals by hand, the approval limit, versions, validity,
and acceptance into a sales order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select

from central.auth import create_user
from central.crm import quotes
from central.db.crm import opportunities, pipeline_stages, tasks
from central.db.crm import quotes as quotes_table
from central.db.domain import (
    customers,
    items,
    production_orders,
    routing_operations,
    sales_order_lines,
    sales_orders,
    users,
    work_centers,
)
from central.orders.errors import Conflict, Invalid
from tests.central.conftest import EDGE

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TODAY = NOW.date()
POLICY = quotes.Policy(discount_approval_pct=10.0, validity_days=30)


def _insert(conn: Connection, table: Any, **values: Any) -> int:
    return int(conn.execute(insert(table).values(**values)).inserted_primary_key[0])  # type: ignore[index]


@pytest.fixture
def book(engine: Engine) -> dict[str, int]:
    """Two customers, a made valve (125.00), a bought gasket (0.99), a service, a sales user,
    an opportunity of ACME's."""
    with engine.begin() as conn:
        create_user(conn, "sam", ["sales"])
        create_user(conn, "ada", ["admin"])
        ids = {
            "acme": _insert(
                conn,
                customers,
                code="ACME",
                name="Acme Pumps",
                address="Industriestraße 5\n31-000 Kraków",
                payment_terms_days=30,
                created_at=NOW,
            ),
            "other": _insert(
                conn, customers, code="OTHER", name="Other", payment_terms_days=30, created_at=NOW
            ),
            "valve": _insert(
                conn,
                items,
                code="VALVE",
                description="Ball valve DN50",
                kind="make",
                price_cents=12_500,
            ),
            "gasket": _insert(
                conn, items, code="GASKET", description="Gasket", kind="buy", price_cents=99
            ),
            "svc": _insert(
                conn, items, code="SVC", description="Inspection", kind="service", price_cents=8_000
            ),
        }
        ids["sam"], ids["ada"] = (
            conn.execute(select(users.c.id).where(users.c.name == n)).scalar_one()
            for n in ("sam", "ada")
        )
        press = _insert(
            conn, work_centers, code="PRESS", name="Press", edge_id=EDGE, stations=["ST-10"]
        )
        _insert(
            conn,
            routing_operations,
            item_id=ids["valve"],
            operation="10",
            sequence=10,
            work_center_id=press,
            run_minutes_per_unit=1.5,
            predecessors=[],
        )
        conn.execute(
            insert(pipeline_stages).values(
                code="QUALIFY", name="Qualify", position=1, probability=0.2
            )
        )
        _insert(
            conn,
            opportunities,
            number="OP-2026-000001",
            name="Valves",
            customer_id=ids["acme"],
            stage="QUALIFY",
            amount_cents=1_000_000,
            expected_close=TODAY,
            competitors=[],
            created_at=NOW,
            stage_changed_at=NOW,
        )
    return ids


def make(engine: Engine, book: dict[str, int], lines: list[dict[str, Any]], **fields: Any) -> str:
    fields = {"customer": "ACME", "order_type": "standard", **fields}
    with engine.begin() as conn:
        return quotes.create(
            conn, lines=lines, created_by=book["sam"], now=NOW, policy=POLICY, **fields
        )


def show(engine: Engine, number: str, today: date = TODAY, **kw: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        return quotes.detail(conn, number, today=today, policy=POLICY, **kw)


def act(engine: Engine, action: Any, *args: Any, **kw: Any) -> Any:
    with engine.begin() as conn:
        return action(conn, *args, **kw)


def sent(engine: Engine, book: dict[str, int], lines: list[dict[str, Any]], **kw: Any) -> str:
    number = make(engine, book, lines, **kw)
    assert act(engine, quotes.submit, number, NOW, POLICY) == "approved"
    act(engine, quotes.send, number, NOW, POLICY)
    return number


# -- pure rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("list_cents", "discount", "unit", "expected"),
    [
        (12_500, 10.0, None, (10.0, 11_250)),
        (99, 15.0, None, (15.0, 84)),  # 84.15 rounds down
        (99, 50.0, None, (50.0, 50)),  # 49.5 rounds half up
        (12_500, None, 11_250, (10.0, 11_250)),  # exactly 10 %, not 10.000000001
        (12_500, None, 11_249, (10.008, 11_249)),
        (12_500, None, 13_000, (0.0, 13_000)),  # a surcharge is no discount
        (0, None, 5_000, (0.0, 5_000)),  # a priced-on-request item
        (12_500, None, None, (0.0, 12_500)),
    ],
)
def test_a_line_is_priced_from_its_discount_or_its_price(
    list_cents: int, discount: float | None, unit: int | None, expected: tuple[float, int]
) -> None:
    assert quotes.line_price(list_cents, discount_pct=discount, unit_price_cents=unit) == expected


def test_only_a_discount_beyond_the_limit_needs_approval() -> None:
    assert not quotes.line_needs_approval(10.0, 10.0)
    assert quotes.line_needs_approval(10.008, 10.0)
    assert not quotes.line_needs_approval(0.0, 0.0)


def test_a_sent_quote_past_its_validity_is_expired() -> None:
    until = date(2026, 12, 1)
    assert quotes.effective_status("sent", until, until) == "sent"
    assert quotes.effective_status("sent", until, until + timedelta(days=1)) == "expired"
    assert quotes.effective_status("approved", until, until + timedelta(days=1)) == "approved"


# -- in the database ------------------------------------------------------------------------


def test_a_new_quote_is_a_priced_draft_with_totals(engine: Engine, book: dict[str, int]) -> None:
    number = make(
        engine,
        book,
        [
            {"item": "VALVE", "quantity": 4, "discount_pct": 10},  # 4 x 112.50 = 450.00
            {"item": "GASKET", "quantity": 10, "unit_price_cents": 90},  # 10 x 0.90 = 9.00
        ],
        opportunity="OP-2026-000001",
        notes="ex works",
    )
    assert number == "QT-2026-000001"
    quote = show(engine, number)
    assert quote["status"] == "draft" and quote["version"] == 1 and quote["versions"] == [1]
    assert quote["valid_until"] == TODAY + timedelta(days=30)
    assert quote["opportunity"] == "OP-2026-000001" and quote["created_by"] == "sam"
    valve, gasket = quote["lines"]
    assert (valve["list_price_cents"], valve["unit_price_cents"]) == (12_500, 11_250)
    assert valve["line_total_cents"] == 45_000 and not valve["needs_approval"]
    assert gasket["discount_pct"] == pytest.approx(100 * 9 / 99)  # 9.09 %: within the limit
    assert gasket["line_total_cents"] == 900
    # list 4 x 125.00 + 10 x 0.99 = 509.90; net 459.00; discount 50.90
    assert quote["totals"] == {"list_cents": 50_990, "discount_cents": 5_090, "net_cents": 45_900}
    assert quote["needs_approval"] is False
    assert quote["approval"]["state"] == "not_required"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({"item": "NOPE", "quantity": 1}, "unknown_item"),
        ({"item": "VALVE", "quantity": 0}, "invalid_quantity"),
        ({"item": "VALVE", "quantity": 1, "discount_pct": 101}, "invalid_discount"),
        (
            {"item": "VALVE", "quantity": 1, "discount_pct": 5, "unit_price_cents": 1},
            "discount_and_price",
        ),
    ],
)
def test_bad_lines_are_refused(
    engine: Engine, book: dict[str, int], line: dict[str, Any], code: str
) -> None:
    with pytest.raises(Invalid) as refused:
        make(engine, book, [line])
    assert refused.value.code == code


def test_what_the_sales_order_would_refuse_is_refused_at_quoting(
    engine: Engine, book: dict[str, int]
) -> None:
    line = {"item": "VALVE", "quantity": 1}
    for fields, code in (
        ({"order_type": "engineered"}, "specs_required"),
        ({"order_type": "service_contract"}, "not_service"),
        ({"opportunity": "OP-2026-000001", "customer": "OTHER"}, "other_customer"),
        ({"opportunity": "OP-2026-999999"}, "unknown_opportunity"),
        ({"valid_until": TODAY - timedelta(days=1)}, "valid_until_past"),
        ({"customer": "NOBODY"}, "unknown_customer"),
    ):
        with pytest.raises(Invalid) as refused:
            make(engine, book, [line], **fields)
        assert refused.value.code == code, fields


def test_a_discount_at_the_limit_is_approved_on_submit(
    engine: Engine, book: dict[str, int]
) -> None:
    number = make(engine, book, [{"item": "VALVE", "quantity": 1, "unit_price_cents": 11_250}])
    assert act(engine, quotes.submit, number, NOW, POLICY) == "approved"
    quote = show(engine, number)
    assert quote["status"] == "approved" and quote["approval"]["approved_by"] is None


def test_a_discount_beyond_the_limit_waits_for_an_admin(
    engine: Engine, book: dict[str, int]
) -> None:
    number = make(engine, book, [{"item": "VALVE", "quantity": 1, "unit_price_cents": 11_249}])
    assert show(engine, number)["needs_approval"] is True
    assert act(engine, quotes.submit, number, NOW, POLICY) == "pending_approval"
    assert show(engine, number)["approval"]["state"] == "pending"
    with pytest.raises(Conflict) as refused:
        act(engine, quotes.send, number, NOW, POLICY)
    assert refused.value.code == "needs_approval"

    act(engine, quotes.reject_approval, number, book["ada"], NOW, "too deep")
    assert show(engine, number)["status"] == "draft"
    with engine.connect() as conn:
        task = conn.execute(select(tasks)).one()
    assert (task.owner_id, task.kind, task.notes) == (
        book["sam"],
        "quote_follow_up",
        "ada: too deep",
    )

    act(engine, quotes.submit, number, NOW, POLICY)
    act(engine, quotes.approve, number, book["ada"], NOW)
    quote = show(engine, number)
    assert quote["status"] == "approved"
    assert quote["approval"] == {
        "limit_pct": 10.0,
        "state": "approved",
        "approved_by": "ada",
        "approved_at": NOW,
    }
    act(engine, quotes.send, number, NOW, POLICY)
    assert show(engine, number)["status"] == "sent"


def test_only_a_draft_is_replaced(engine: Engine, book: dict[str, int]) -> None:
    number = make(engine, book, [{"item": "VALVE", "quantity": 1}])
    act(
        engine,
        quotes.replace,
        number,
        order_type="make_to_order",
        lines=[{"item": "GASKET", "quantity": 3, "discount_pct": 0}],
        now=NOW,
        policy=POLICY,
    )
    quote = show(engine, number)
    assert quote["order_type"] == "make_to_order"
    assert [(line["item"], line["quantity"]) for line in quote["lines"]] == [("GASKET", 3.0)]
    act(engine, quotes.submit, number, NOW, POLICY)
    with pytest.raises(Conflict):
        act(
            engine,
            quotes.replace,
            number,
            order_type="standard",
            lines=[{"item": "VALVE", "quantity": 1}],
            now=NOW,
            policy=POLICY,
        )


def test_a_revision_is_the_next_version_and_supersedes_the_last(
    engine: Engine, book: dict[str, int]
) -> None:
    number = sent(engine, book, [{"item": "VALVE", "quantity": 2, "discount_pct": 5}])
    later = NOW + timedelta(days=3)
    assert act(engine, quotes.revise, number, book["sam"], later, POLICY) == 2
    latest, first = show(engine, number), show(engine, number, version=1)
    assert (latest["version"], latest["status"], latest["versions"]) == (2, "draft", [1, 2])
    assert latest["valid_until"] == later.date() + timedelta(days=30)
    assert latest["sent_at"] is None and latest["lines"] == first["lines"]
    assert first["status"] == "superseded"
    with pytest.raises(Conflict) as refused:
        act(engine, quotes.revise, number, book["sam"], later, POLICY)
    assert refused.value.code == "draft"


def test_an_expired_quote_is_not_accepted(engine: Engine, book: dict[str, int]) -> None:
    number = sent(
        engine, book, [{"item": "VALVE", "quantity": 1}], valid_until=TODAY + timedelta(days=2)
    )
    assert show(engine, number, TODAY + timedelta(days=2))["status"] == "sent"
    late = NOW + timedelta(days=3)
    assert show(engine, number, late.date())["status"] == "expired"
    with pytest.raises(Conflict) as refused:
        act(engine, quotes.accept, number, late)
    assert refused.value.code == "expired"
    assert act(engine, quotes.expire_due, late.date()) == 1
    with engine.connect() as conn:
        assert conn.execute(select(quotes_table.c.status)).scalar_one() == "expired"
    assert act(engine, quotes.revise, number, book["sam"], late, POLICY) == 2  # a new offer


def test_accepting_makes_the_sales_order_of_the_quote(engine: Engine, book: dict[str, int]) -> None:
    specs = {"bore": "50 mm", "material": "1.4404"}
    number = sent(
        engine,
        book,
        [
            {"item": "VALVE", "quantity": 2, "discount_pct": 8, "technical_specs": specs},
            {"item": "GASKET", "quantity": 4, "unit_price_cents": 95, "technical_specs": {"x": 1}},
        ],
        order_type="engineered",
        technical_specs={"drawing": "D-17"},
    )
    answer = act(
        engine,
        quotes.accept,
        number,
        NOW,
        confirm=True,
        due_date=date(2027, 1, 15),
        customer_reference="PO 4711",
    )
    order = answer["sales_order"]
    assert answer["confirmation"]["status"] == "confirmed"
    with engine.connect() as conn:
        so = conn.execute(select(sales_orders).where(sales_orders.c.number == order)).one()
        lines = conn.execute(
            select(sales_order_lines)
            .where(sales_order_lines.c.sales_order_id == so.id)
            .order_by(sales_order_lines.c.line_no)
        ).all()
        made = conn.execute(select(production_orders)).all()
    assert (so.type, so.status, so.technical_specs) == (
        "engineered",
        "confirmed",
        {"drawing": "D-17"},
    )
    assert (so.customer_id, so.customer_reference, so.due_date) == (
        book["acme"],
        "PO 4711",
        date(2027, 1, 15),
    )
    assert [(ln.item_id, ln.quantity, ln.unit_price_cents, ln.technical_specs) for ln in lines] == [
        (book["valve"], 2.0, 11_500, specs),
        (book["gasket"], 4.0, 95, {"x": 1}),
    ]
    assert [m.technical_specs for m in made if m.item_id == book["valve"]] == [specs]
    quote = show(engine, number)
    assert (quote["status"], quote["sales_order"]) == ("accepted", order)
    assert quote["decided_at"] == NOW

    with pytest.raises(Conflict) as refused:
        act(engine, quotes.accept, number, NOW)
    assert refused.value.code == "accepted" and order in refused.value.message
    with pytest.raises(Conflict):
        act(engine, quotes.revise, number, book["sam"], NOW, POLICY)
    with engine.connect() as conn:
        assert len(conn.execute(select(sales_orders)).all()) == 1


def test_only_a_sent_quote_is_accepted_or_rejected(engine: Engine, book: dict[str, int]) -> None:
    number = make(engine, book, [{"item": "VALVE", "quantity": 1}], notes="ex works")
    for action in (quotes.accept, quotes.reject):
        args = (NOW,) if action is quotes.accept else (NOW, "no")
        with pytest.raises(Conflict) as refused:
            act(engine, action, number, *args)
        assert refused.value.code == "not_sent"
    act(engine, quotes.submit, number, NOW, POLICY)
    act(engine, quotes.send, number, NOW, POLICY)
    act(engine, quotes.reject, number, NOW, "too expensive")
    quote = show(engine, number)
    assert quote["status"] == "rejected" and quote["decided_at"] == NOW
    assert quote["notes"] == "ex works\nRejected by the customer on 2026-11-23: too expensive"
