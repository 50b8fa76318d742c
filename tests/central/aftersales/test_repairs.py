"""Repair orders in the domain: warranty from the shipment, assignment, parts, labour, costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, insert, select

from central.aftersales import repairs, tickets
from central.db.aftersales import repair_orders, technicians
from central.db.domain import (
    customers,
    items,
    reservations,
    sales_order_lines,
    sales_orders,
    shipment_lines,
    shipments,
    stock_moves,
)
from central.orders import inventory
from central.orders.errors import Conflict, DomainError, Invalid, NotFound

SHIPPED = datetime(2025, 3, 31, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SERIAL = "WO-2025-000001-0001"


@pytest.fixture
def conn(engine: Engine) -> Any:
    with engine.begin() as conn:
        plant(conn)
        yield conn


def plant(conn: Connection) -> None:
    """ACME in territory NORTH with a pump shipped on 31 March 2025 (12 months' warranty),
    BETA with neither territory nor address; parts in stores; five technicians."""
    conn.execute(
        insert(customers),
        [
            {
                "code": "ACME",
                "name": "Acme Pumps",
                "address": "1 Quay Road, Northport",
                "territory": "NORTH",
                "payment_terms_days": 30,
                "created_at": NOW,
            },
            {
                "code": "BETA",
                "name": "Beta Mills",
                "address": None,
                "territory": None,
                "payment_terms_days": 30,
                "created_at": NOW,
            },
        ],
    )
    conn.execute(
        insert(items),
        [
            {"code": "PUMP", "description": "Pump", "kind": "make", "tracking": "serial",
             "price_cents": 90_000, "warranty_months": 12},
            {"code": "SEAL", "description": "Seal", "kind": "buy", "tracking": "none",
             "price_cents": 250, "warranty_months": 12},
            {"code": "FILTER", "description": "Filter", "kind": "buy", "tracking": "lot",
             "price_cents": 1_000, "warranty_months": 12},
        ],
    )  # fmt: skip
    conn.execute(
        insert(sales_orders).values(
            number="SO-1", customer_id=1, type="standard", status="shipped", created_at=SHIPPED
        )
    )
    conn.execute(
        insert(sales_order_lines).values(
            sales_order_id=1, line_no=1, item_id=1, quantity=1, unit_price_cents=90_000
        )
    )
    conn.execute(insert(shipments).values(number="SH-1", sales_order_id=1, shipped_at=SHIPPED))
    conn.execute(
        insert(shipment_lines).values(
            shipment_id=1, sales_order_line_id=1, item_id=1, lot=SERIAL, quantity=1
        )
    )
    inventory.book(
        conn,
        [
            inventory.Move(2, "", 10, "purchase", "PO-1", to_location="STORES"),
            inventory.Move(3, "F-1", 4, "purchase", "PO-1", to_location="STORES"),
        ],
        NOW,
    )
    conn.execute(
        insert(technicians),
        [
            {"code": code, "name": code.title(), "skills": skills, "territory": territory,
             "hourly_rate_cents": rate, "active": active}
            for code, skills, territory, rate, active in (
                ("T1", ["hydraulics", "electrical"], "NORTH", 6_000, True),
                ("T2", ["electrical"], "NORTH", 5_000, True),
                ("T3", ["hydraulics"], "SOUTH", 5_500, True),
                ("T4", ["hydraulics"], "NORTH", 4_000, False),
                ("T5", ["hydraulics"], None, 4_500, True),
            )
        ],
    )  # fmt: skip


def make(conn: Connection, now: datetime = NOW, **fields: Any) -> str:
    values = {"customer": "ACME", "kind": "in_shop", "fault": "leaks", "item": "PUMP", **fields}
    return repairs.create(conn, now=now, **values)


@pytest.mark.parametrize(
    ("at", "months", "until"),
    [
        (datetime(2025, 3, 31, 10, tzinfo=UTC), 12, datetime(2026, 3, 31, 10, tzinfo=UTC)),
        (datetime(2025, 1, 31, 10, tzinfo=UTC), 1, datetime(2025, 2, 28, 10, tzinfo=UTC)),
        (datetime(2023, 12, 31, tzinfo=UTC), 2, datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2025, 11, 15, tzinfo=UTC), 14, datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2025, 5, 5, tzinfo=UTC), 0, datetime(2025, 5, 5, tzinfo=UTC)),
    ],
)
def test_warranty_counts_calendar_months(at: datetime, months: int, until: datetime) -> None:
    assert repairs.add_months(at, months) == until


def test_warranty_is_checked_from_the_shipment_at_creation(conn: Connection) -> None:
    last_day = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    inside = repairs.detail(conn, make(conn, last_day, lot=SERIAL))
    assert inside["number"] == "RO-2026-000001"
    assert inside["warranty"] == {
        "under_warranty": True,
        "shipped_at": SHIPPED,
        "warranty_until": last_day,
        "warranty_months": 12,
        "note": "under warranty until 2026-03-31",
    }
    assert inside["unit"] == {
        "item": "PUMP",
        "description": "Pump",
        "tracking": "serial",
        "lot": SERIAL,
    }
    # the serial was shipped: genealogy finds it even without its production order
    assert inside["genealogy"]["lot"] == SERIAL

    outside = repairs.detail(conn, make(conn, last_day + timedelta(minutes=1), lot=SERIAL))
    assert outside["warranty"]["under_warranty"] is False
    assert outside["warranty"]["note"] == "the warranty ended 2026-03-31"

    # shipped to ACME, not to BETA; and a unit without a serial cannot be checked
    stranger = repairs.detail(conn, make(conn, customer="BETA", lot=SERIAL))
    assert stranger["warranty"] | {"note": None} == {
        "under_warranty": False,
        "shipped_at": None,
        "warranty_until": None,
        "warranty_months": 12,
        "note": None,
    }
    assert stranger["warranty"]["note"] == f"{SERIAL} was never shipped to BETA: not under warranty"
    unknown = repairs.detail(conn, make(conn))
    assert unknown["warranty"]["note"] == "no lot or serial given: the warranty cannot be checked"
    assert (unknown["unit"]["lot"], unknown["genealogy"]) == (None, None)


def test_from_a_ticket_and_what_a_field_repair_needs(conn: Connection) -> None:
    ticket = tickets.open_ticket(
        conn,
        customer="ACME",
        kind="warranty_claim",
        channel="portal",
        priority="high",
        subject="Pump stopped",
        lot=SERIAL,
        now=NOW,
    )
    number = repairs.create(
        conn, ticket=ticket, kind="field", fault="stopped", required_skills=["hydraulics"], now=NOW
    )
    shown = repairs.detail(conn, number)
    # the ticket's customer and serial; the item from the serial's shipment; ACME's site
    assert (shown["ticket"], shown["customer"]["code"], shown["unit"]["item"]) == (
        ticket,
        "ACME",
        "PUMP",
    )
    assert (shown["site_address"], shown["territory"]) == ("1 Quay Road, Northport", "NORTH")
    assert shown["warranty"]["under_warranty"] is True
    assert tickets.detail(conn, ticket, NOW)["repair_orders"] == [
        {
            "number": number,
            "kind": "field",
            "status": "open",
            "technician": None,
            "under_warranty": True,
            "opened_at": NOW,
        }
    ]
    elsewhere = make(conn, kind="field", site_address="Dock 4", territory="SOUTH")
    assert repairs.detail(conn, elsewhere)["territory"] == "SOUTH"

    refusals = [
        (lambda: make(conn, customer="BETA", kind="field"), "site_address_required"),
        (
            lambda: make(conn, customer="BETA", kind="field", site_address="Mill Lane"),
            "territory_required",
        ),
        (lambda: make(conn, territory="NORTH"), "not_field"),
        (lambda: make(conn, item=None), "item_required"),
        (lambda: make(conn, item="NONE"), "unknown_item"),
        (lambda: make(conn, customer="NONE"), "unknown_customer"),
        (lambda: make(conn, customer=None), "customer_required"),
        (lambda: make(conn, kind="remote"), "invalid_kind"),
        (lambda: make(conn, fault=" "), "fault_required"),
    ]
    for refuse, code in refusals:
        with pytest.raises(Invalid) as refused:
            refuse()
        assert refused.value.code == code
    with pytest.raises(NotFound):
        repairs.create(conn, ticket="TK-0", kind="in_shop", fault="x", now=NOW)
    assert conn.execute(select(func.count()).select_from(repair_orders)).scalar_one() == 2


def test_assignment_by_skill_territory_and_load(conn: Connection) -> None:
    field = make(conn, kind="field", required_skills=["hydraulics"])
    # T1 is the one active technician in NORTH with hydraulics (T2 lacks it, T3 is in
    # SOUTH, T4 inactive, T5 in the shop only)
    assert repairs.assign(conn, field) == "T1"
    shown = repairs.detail(conn, field)
    assert (shown["status"], shown["technician"]) == (
        "assigned",
        {"code": "T1", "name": "T1", "territory": "NORTH"},
    )
    # in the shop territory does not count: T1 and T2 have electrical, T2 has less to do
    first = make(conn, required_skills=["electrical"])
    second = make(conn, required_skills=["electrical"])
    assert repairs.assign(conn, first) == "T2"
    assert repairs.assign(conn, second) == "T1"  # one each: by code
    assert repairs.load(conn, [1, 2, 3]) == {1: 2, 2: 1}
    # reassigning does not count the order against the one who has it
    assert repairs.assign(conn, second) == "T1"
    repairs.cancel(conn, second, NOW)
    assert repairs.load(conn, [1, 2]) == {1: 1, 2: 1}

    explicit = make(conn, kind="field", required_skills=["hydraulics", "electrical"])
    with pytest.raises(Invalid) as refused:
        repairs.assign(conn, explicit, "T3")
    assert (refused.value.code, refused.value.message) == (
        "missing_skills",
        "technician T3 lacks the skills electrical; works in SOUTH, not in territory NORTH",
    )
    with pytest.raises(Invalid, match="is inactive"):
        repairs.assign(conn, explicit, "T4")
    with pytest.raises(Invalid, match="no technician"):
        repairs.assign(conn, explicit, "T9")
    assert repairs.detail(conn, explicit)["status"] == "open"
    assert repairs.assign(conn, explicit, "T1") == "T1"

    east = make(conn, kind="field", territory="EAST", site_address="Far away")
    with pytest.raises(Conflict) as nobody:
        repairs.assign(conn, east)
    assert (nobody.value.code, nobody.value.message) == (
        "no_technician",
        "no active technician is available in territory EAST",
    )
    welding = make(conn, required_skills=["welding"])
    with pytest.raises(Conflict, match="has the skills welding"):
        repairs.assign(conn, welding)


def test_status_flow(conn: Connection) -> None:
    number = make(conn, lot=SERIAL)
    with pytest.raises(Conflict, match="becomes in_progress only from assigned"):
        repairs.start(conn, number)
    repairs.assign(conn, number)
    repairs.start(conn, number)
    with pytest.raises(Conflict, match="becomes cancelled only from open or assigned"):
        repairs.cancel(conn, number, NOW)
    with pytest.raises(Invalid, match="what was wrong"):
        repairs.done(conn, number, "")
    repairs.done(conn, number, "impeller worn")
    with pytest.raises(Invalid, match="1 to 5"):
        repairs.close(conn, number, NOW, satisfaction=0)
    repairs.close(conn, number, NOW + timedelta(days=1), satisfaction=5, feedback="like new")
    shown = repairs.detail(conn, number)
    assert (shown["status"], shown["diagnosis"], shown["closed_at"]) == (
        "closed",
        "impeller worn",
        NOW + timedelta(days=1),
    )
    assert shown["feedback"] == {"satisfaction": 5, "feedback": "like new"}
    with pytest.raises(Conflict, match="nothing more is booked"):
        repairs.add_labour(conn, number, hours=1, now=NOW)
    with pytest.raises(NotFound):
        repairs.detail(conn, "RO-0")


def test_parts_leave_stock_and_costs_add_up(conn: Connection) -> None:
    covered = make(conn, lot=SERIAL, required_skills=["electrical"])
    repairs.assign(conn, covered, "T2")

    repairs.add_part(conn, covered, item="SEAL", quantity=3, now=NOW)
    part = repairs.add_part(conn, covered, item="FILTER", lot="F-1", quantity=1.5, now=NOW)
    assert part == {
        "item": "FILTER",
        "lot": "F-1",
        "location": "STORES",
        "quantity": 1.5,
        "unit_cost_cents": 1_000,
        "at": NOW,
        "cost_cents": 1_500,
    }
    # parts taken out of stock cannot be undone by cancelling: the repair is finished instead
    with pytest.raises(Conflict) as used:
        repairs.cancel(conn, covered, NOW)
    assert used.value.code == "parts_used"
    assert repairs.detail(conn, covered)["status"] == "assigned"
    repairs.add_labour(conn, covered, hours=1.5, note="swap seal", now=NOW)
    repairs.add_labour(conn, covered, technician="T5", hours=0.25, now=NOW)
    shown = repairs.detail(conn, covered)
    labour = [
        (w["technician"], w["hours"], w["rate_cents"], w["cost_cents"]) for w in shown["labour"]
    ]
    assert labour == [("T2", 1.5, 5_000, 7_500), ("T5", 0.25, 4_500, 1_125)]
    # 3 x 2.50 + 1.5 x 10.00 = 22.50 parts; 75.00 + 11.25 labour; under warranty: free
    assert shown["costs"] == {
        "parts_cents": 2_250,
        "labour_cents": 8_625,
        "total_cents": 10_875,
        "charged_cents": 0,
    }
    assert inventory.on_hand(conn, 2) == 7
    assert inventory.on_hand(conn, 3) == 2.5
    moves = conn.execute(
        select(stock_moves.c.item_id, stock_moves.c.quantity, stock_moves.c.from_location)
        .where(stock_moves.c.reason == "consumption", stock_moves.c.reference == covered)
        .order_by(stock_moves.c.id)
    ).all()
    assert [tuple(m) for m in moves] == [(2, 3.0, "STORES"), (3, 1.5, "STORES")]

    charged = make(conn)  # no serial: not under warranty
    repairs.add_part(conn, charged, item="SEAL", quantity=1, now=NOW)
    repairs.add_labour(conn, charged, technician="T1", hours=2, now=NOW)
    assert repairs.detail(conn, charged)["costs"] == {
        "parts_cents": 250,
        "labour_cents": 12_000,
        "total_cents": 12_250,
        "charged_cents": 12_250,
    }

    # what is not free at that place is refused and changes nothing; reserved is not free
    conn.execute(
        insert(reservations).values(
            item_id=2, lot="", location="STORES", quantity=5, created_at=NOW
        )
    )
    moves_before = conn.execute(select(func.count()).select_from(stock_moves)).scalar_one()
    refusals: list[tuple[dict[str, Any], type[DomainError], str]] = [
        (dict(item="SEAL", quantity=2), Conflict, "not_in_stock"),  # 6 on hand, 5 reserved
        (dict(item="SEAL", quantity=1, location="FG"), Conflict, "not_in_stock"),
        (dict(item="FILTER", lot="F-2", quantity=1), Conflict, "not_in_stock"),
        (dict(item="FILTER", quantity=1), Invalid, "lot_required"),
        (dict(item="SEAL", lot="S-1", quantity=1), Invalid, "not_tracked"),
        (dict(item="NONE", quantity=1), Invalid, "unknown_item"),
        (dict(item="SEAL", quantity=0), Invalid, "invalid_quantity"),
    ]
    for fields, error, code in refusals:
        with pytest.raises(error) as refused:
            repairs.add_part(conn, charged, now=NOW, **fields)
        assert refused.value.code == code
    with pytest.raises(Conflict, match="1 of SEAL free at STORES, not 2"):
        repairs.add_part(conn, charged, item="SEAL", quantity=2, now=NOW)
    assert conn.execute(select(func.count()).select_from(stock_moves)).scalar_one() == moves_before
    assert inventory.on_hand(conn, 2) == 6
    assert len(repairs.detail(conn, charged)["parts"]) == 1

    unassigned = make(conn)
    with pytest.raises(Invalid, match="no technician yet"):
        repairs.add_labour(conn, unassigned, hours=1, now=NOW)
    with pytest.raises(Invalid, match="hours must be positive"):
        repairs.add_labour(conn, unassigned, technician="T1", hours=0, now=NOW)


def test_lists_filter_by_status_technician_customer_and_kind(conn: Connection) -> None:
    shop = make(conn, required_skills=["electrical"])
    field = make(conn, kind="field", required_skills=["hydraulics"])
    beta = make(conn, customer="BETA")
    repairs.assign(conn, shop, "T2")
    repairs.assign(conn, field)

    def numbers(**filters: Any) -> list[str]:
        return [r["number"] for r in repairs.list_repairs(conn, limit=10, **filters)]

    assert numbers() == [shop, field, beta]
    assert numbers(after=shop) == [field, beta]
    assert numbers(status=["assigned"]) == [shop, field]
    assert numbers(technician="T1") == [field]
    assert numbers(customer="BETA") == [beta]
    assert numbers(kind="field") == [field]
    [row] = repairs.list_repairs(conn, limit=10, technician="T2")
    assert row == {
        "number": shop,
        "kind": "in_shop",
        "status": "assigned",
        "customer": "ACME",
        "ticket": None,
        "item": "PUMP",
        "lot": None,
        "technician": "T2",
        "territory": None,
        "under_warranty": False,
        "opened_at": NOW,
        "closed_at": None,
    }
