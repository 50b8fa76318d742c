"""Bulk CRM data for ``floorsync bench crm``: accounts, a pipeline and a long timeline.

Accounts (with two contacts each, owners among the sales users, tiers, territories and a
parent for one in 25), opportunities spread over the stages of ``pipeline_stages`` with
the history of every stage they went through, and the timeline: documents of every
source the timeline reads (sales orders, shipments, invoices, payments, quotes, tickets,
repairs; the opportunities count too) and interactions for the rest. Rows are written in
time order, as they would have been, so one customer's entries lie scattered through
the tables (floorsync.bench.api_data._write).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from central.auth import create_user
from central.crm.names import name_key
from central.db.crm import pipeline_stages
from central.db.domain import BUYING_ROLES, items, number_series, users
from floorsync.bench.api_data import LINE_COLUMNS, Say, _day, _when, _write

SALES_USERS = 20
ITEMS = 50
HISTORY = timedelta(days=3 * 365)  # how far back the timeline goes
TERRITORIES = ("DE-N", "DE-S", "DE-E", "DE-W", "AT", "CH", "NL", "PL")
TOWNS = ("Bremen", "München", "Leipzig", "Köln", "Graz", "Basel", "Utrecht", "Poznań")
FORMS = ("GmbH", "AG", "KG", "GmbH & Co. KG", "SE")
PRODUCT_LINES = ("pumps", "valves", "drives", "service")
LEAD_SOURCES = (None, None, "web_form", "import", "manual", "referral", "trade_show")
INTERACTIONS: tuple[tuple[str, str | None], ...] = (
    ("call", "out"),
    ("call", "in"),
    ("visit", "out"),
    ("email", "in"),
    ("email", "out"),
    ("note", None),
    ("meeting", "out"),
)
# the sequences of the ids written here, set past them on PostgreSQL (COPY skips them)
EXPLICIT_IDS = (
    "customers",
    "contacts",
    "opportunities",
    "sales_orders",
    "sales_order_lines",
    "shipments",
    "invoices",
    "quotes",
    "service_tickets",
)


@dataclass(frozen=True)
class Sizes:
    """How many of each timeline source make ``timeline`` entries in all."""

    orders: int
    quotes: int
    tickets: int
    repairs: int

    @classmethod
    def of(cls, timeline: int) -> Sizes:
        return cls(
            orders=max(1, timeline // 25),
            quotes=max(1, timeline // 50),
            tickets=max(1, timeline // 50),
            repairs=max(1, timeline // 200),
        )


def populate_crm(
    engine: Engine, *, accounts: int, opportunities: int, timeline: int, now: datetime, say: Say
) -> dict[str, int]:
    """Fill an empty, migrated database; returns how many rows each timeline source got."""
    rng = random.Random(17)
    start = now - HISTORY
    with engine.begin() as conn:
        owners = []
        for n in range(1, SALES_USERS + 1):
            create_user(conn, f"sales{n:02d}", ["sales"])
            made = select(users.c.id).where(users.c.name == f"sales{n:02d}")
            owners.append(conn.execute(made).scalar_one())
        conn.execute(
            insert(items),
            [
                {
                    "code": f"ITEM-{n:04d}",
                    "description": f"Pump {n}",
                    "kind": "make",
                    "tracking": "lot",
                    "price_cents": 50_000 + 1000 * n,
                }
                for n in range(1, ITEMS + 1)
            ],
        )
        stages = conn.execute(
            select(pipeline_stages.c.code, pipeline_stages.c.outcome).order_by(
                pipeline_stages.c.position
            )
        ).all()
    owner_of = [0] + [rng.choice(owners) for _ in range(accounts)]  # by customer id
    say(f"writing {accounts:,} accounts with {2 * accounts:,} contacts")
    _accounts(engine, accounts, owner_of, start, rng, say)
    plans = _plan_opportunities(opportunities, accounts, stages, owner_of, now, rng)
    say(f"writing {opportunities:,} opportunities with their stage history")
    _opportunities(engine, plans, say)
    sizes = Sizes.of(timeline)
    say(f"writing {sizes.orders:,} sales orders, their shipments, invoices and payments")
    counts = _orders(engine, sizes.orders, accounts, start, now, rng, say)
    counts["opportunities"] = opportunities
    counts["quotes"] = _quotes(engine, sizes.quotes, plans, now, rng, say)
    counts["tickets"] = _tickets(engine, sizes.tickets, accounts, start, now, rng, say)
    counts["repairs"] = _repairs(engine, sizes.repairs, accounts, start, now, rng, say)
    documents = sum(counts.values())
    counts["interactions"] = max(timeline - documents, timeline // 2)
    say(f"writing {counts['interactions']:,} interactions (calls, visits, emails, notes)")
    _interactions(engine, counts["interactions"], accounts, owner_of, start, now, rng, say)
    series = {
        "SO": counts["orders"],
        "SH": counts["shipments"],
        "INV": counts["invoices"],
        "OP": opportunities,
        "QT": counts["quotes"],
        "TK": counts["tickets"],
        "RO": counts["repairs"],
    }
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in EXPLICIT_IDS:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        # written last: a database that has them was filled to the end
        conn.execute(insert(number_series), [{"series": s, "last": n} for s, n in series.items()])
    return counts


def _accounts(
    engine: Engine,
    accounts: int,
    owner_of: list[int],
    start: datetime,
    rng: random.Random,
    say: Say,
) -> None:
    created = _when(engine, start - timedelta(days=365))

    def customer_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, accounts + 1):
            town = rng.randrange(len(TOWNS))
            name = f"{TOWNS[town]} Anlagenbau {n} {rng.choice(FORMS)}"
            tier = "A" if n % 10 == 0 else ("B" if n % 10 < 4 else "C")
            parent = rng.randint(1, n - 1) if n > 100 and n % 25 == 0 else None
            yield (
                n,
                f"C{n:06d}",
                name,
                name_key(name),
                f"DE{100_000_000 + n}",
                f"einkauf@c{n}.example.com",
                f"+49 30 {1_000_000 + n}",
                f"Werkstraße {n % 200 + 1}, {TOWNS[town]}",
                rng.choice((None, 5_000_000, 20_000_000, 100_000_000)),
                rng.choice((14, 30, 30, 60)),
                TERRITORIES[town],
                tier,
                owner_of[n],
                parent,
                created,
            )

    _write(
        engine,
        "customers",
        _columns(
            "id code name name_key tax_id email phone address credit_limit_cents "
            "payment_terms_days territory tier owner_id parent_id created_at"
        ),
        customer_rows(),
        accounts,
        say,
    )

    def contact_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, accounts + 1):  # contact 2n-1 decides, 2n reports to them
            boss, other = 2 * n - 1, 2 * n
            yield (boss, n, f"Anna Berger {n}", "Head of purchasing", None, "decision_maker", None)
            role = rng.choice(BUYING_ROLES[1:])
            yield (other, n, f"Jonas Wolf {n}", "Engineer", f"j.wolf@c{n}.example.com", role, boss)

    _write(
        engine,
        "contacts",
        ("id", "customer_id", "name", "role", "email", "buying_role", "reports_to_id"),
        contact_rows(),
        2 * accounts,
        say,
    )


@dataclass(frozen=True)
class Plan:
    """One opportunity: its customer, the stages it went through and when."""

    customer: int
    owner: int
    path: tuple[str, ...]
    times: tuple[datetime, ...]
    outcome: str | None
    expected_close: Any  # a date


def _plan_opportunities(
    count: int,
    accounts: int,
    stages: Sequence[Any],
    owner_of: list[int],
    now: datetime,
    rng: random.Random,
) -> list[Plan]:
    """Older opportunities are mostly won or lost; open ones sit more in early stages."""
    open_ = [s.code for s in stages if s.outcome is None]
    won = next(s.code for s in stages if s.outcome == "won")
    lost = next(s.code for s in stages if s.outcome == "lost")
    span = timedelta(days=730)
    plans = []
    for n in range(1, count + 1):
        created = now - span + span * (n / (count + 1))
        customer = rng.randint(1, accounts)
        if rng.random() < 0.05 + 0.8 * (1 - n / count):
            outcome = rng.choice(("won", "lost"))
            reached = len(open_) if outcome == "won" else rng.randint(1, len(open_))
            path = (*open_[:reached], won if outcome == "won" else lost)
        else:
            outcome = None
            weights = range(len(open_), 0, -1)  # 4, 3, 2, 1 with the seeded stages
            reached = rng.choices(range(1, len(open_) + 1), weights=weights)[0]
            path = tuple(open_[:reached])
        step = min(timedelta(days=14), (now - created) / (len(path) + 1))
        times = tuple(created + step * k for k in range(len(path)))
        if outcome is None:
            close = (now + timedelta(days=rng.randint(-30, 540))).date()
        else:
            close = times[-1].date()
        plans.append(Plan(customer, owner_of[customer], path, times, outcome, close))
    return plans


def _opportunities(engine: Engine, plans: list[Plan], say: Say) -> None:
    def rows() -> Iterator[tuple[Any, ...]]:
        rng = random.Random(19)
        for n, p in enumerate(plans, start=1):
            yield (
                n,
                f"OP-{p.times[0].year}-{n:06d}",
                f"{rng.choice(PRODUCT_LINES).title()} for C{p.customer:06d}",
                p.customer,
                2 * p.customer - 1,
                p.path[-1],
                rng.randint(500_000, 50_000_000),
                _day(engine, p.expected_close),
                p.owner,
                rng.choice(LEAD_SOURCES),
                rng.choice(PRODUCT_LINES),
                rng.choice(("[]", '["Grundfos"]', '["KSB", "Wilo"]')),
                "price" if p.outcome == "lost" else None,
                _when(engine, p.times[0]),
                _when(engine, p.times[-1]),
                _when(engine, p.times[-1]) if p.outcome else None,
            )

    _write(
        engine,
        "opportunities",
        _columns(
            "id number name customer_id contact_id stage amount_cents expected_close owner_id "
            "source product_line competitors lost_reason created_at stage_changed_at "
            "closed_at"
        ),
        rows(),
        len(plans),
        say,
    )

    def history() -> Iterator[tuple[Any, ...]]:
        for n, p in enumerate(plans, start=1):
            previous = None
            for stage, at in zip(p.path, p.times, strict=True):
                yield (n, stage, previous, p.owner, _when(engine, at))
                previous = stage

    _write(
        engine,
        "opportunity_stages",
        ("opportunity_id", "stage", "previous", "by_id", "at"),
        history(),
        sum(len(p.path) for p in plans),
        say,
    )


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


def _spread(n: int, count: int, start: datetime, now: datetime) -> datetime:
    """The ``n``-th of ``count`` moments spread evenly from ``start`` to a day before now."""
    return start + (now - timedelta(days=1) - start) * (n / (count + 1))


def _orders(
    engine: Engine,
    count: int,
    accounts: int,
    start: datetime,
    now: datetime,
    rng: random.Random,
    say: Say,
) -> dict[str, int]:
    """Sales orders of one line; every other one older than three weeks shipped, invoiced
    and, three in four, paid."""
    orders = [
        (n, rng.randint(1, accounts), _spread(n, count, start, now)) for n in range(1, count + 1)
    ]
    shipped = [o for o in orders if o[0] % 2 == 0 and o[2] < now - timedelta(days=21)]
    shipped_ids = {o[0] for o in shipped}

    def order_rows() -> Iterator[tuple[Any, ...]]:
        for n, customer, at in orders:
            status = ("shipped", "closed")[n % 4 // 2] if n in shipped_ids else "confirmed"
            yield (
                n,
                f"SO-{at.year}-{n:06d}",
                customer,
                "standard",
                status,
                _day(engine, (at + timedelta(days=14)).date()),
                _when(engine, at),
                _when(engine, at + timedelta(hours=2)),
            )

    _write(
        engine,
        "sales_orders",
        ("id", "number", "customer_id", "type", "status", "due_date", "created_at", "confirmed_at"),
        order_rows(),
        count,
        say,
    )
    price = {n: rng.randint(1, 40) * 50_000 for n, _, _ in orders}

    def line_rows() -> Iterator[tuple[Any, ...]]:
        for n, _, _ in orders:
            done = 1.0 if n in shipped_ids else 0.0
            yield (n, n, 1, n % ITEMS + 1, 1.0, price[n], done, done)

    _write(engine, "sales_order_lines", LINE_COLUMNS, line_rows(), count, say)

    def shipment_rows() -> Iterator[tuple[Any, ...]]:
        for k, (n, _, at) in enumerate(shipped, start=1):
            when = at + timedelta(days=14)
            yield (k, f"SH-{when.year}-{k:06d}", n, _when(engine, when), "DHL", None)

    _write(
        engine,
        "shipments",
        ("id", "number", "sales_order_id", "shipped_at", "carrier", "tracking"),
        shipment_rows(),
        len(shipped),
        say,
    )
    paid = [k for k in range(1, len(shipped) + 1) if k % 4 != 0]

    def invoice_rows() -> Iterator[tuple[Any, ...]]:
        for k, (n, customer, at) in enumerate(shipped, start=1):
            when = at + timedelta(days=14)
            yield (
                k,
                f"INV-{when.year}-{k:06d}",
                customer,
                n,
                k,
                price[n],
                price[n] if k % 4 else 0,
                _when(engine, when),
                _day(engine, (when + timedelta(days=30)).date()),
                "paid" if k % 4 else "open",
            )

    _write(
        engine,
        "invoices",
        _columns(
            "id number customer_id sales_order_id shipment_id amount_cents paid_cents "
            "issued_at due_date status"
        ),
        invoice_rows(),
        len(shipped),
        say,
    )

    def payment_rows() -> Iterator[tuple[Any, ...]]:
        for k in paid:
            n, _, at = shipped[k - 1]
            when = min(at + timedelta(days=35), now - timedelta(hours=1))
            yield (k, price[n], _when(engine, when), f"BANK-{k:07d}")

    _write(
        engine,
        "payments",
        ("invoice_id", "amount_cents", "received_at", "reference"),
        payment_rows(),
        len(paid),
        say,
    )
    return {
        "orders": count,
        "shipments": len(shipped),
        "invoices": len(shipped),
        "payments": len(paid),
    }


def _quotes(
    engine: Engine, count: int, plans: list[Plan], now: datetime, rng: random.Random, say: Say
) -> int:
    """One quote of one line for opportunities spread over the pipeline."""
    states = ("draft", "approved", "sent", "sent", "accepted", "rejected", "expired")

    def quote_rows() -> Iterator[tuple[Any, ...]]:
        for q in range(1, count + 1):
            o = 1 + (q - 1) * len(plans) // count
            plan = plans[o - 1]
            at = min(plan.times[0] + timedelta(days=3), now - timedelta(hours=1))
            yield (
                q,
                f"QT-{at.year}-{q:06d}",
                1,
                plan.customer,
                o,
                rng.choice(states),
                "standard",
                _day(engine, (at + timedelta(days=30)).date()),
                plan.owner,
                _when(engine, at),
            )

    _write(
        engine,
        "quotes",
        _columns(
            "id number version customer_id opportunity_id status order_type valid_until "
            "created_by created_at"
        ),
        quote_rows(),
        count,
        say,
    )

    def line_rows() -> Iterator[tuple[Any, ...]]:
        for q in range(1, count + 1):
            list_price = 50_000 + 1000 * (q % ITEMS + 1)
            yield (q, 1, q % ITEMS + 1, 2.0, list_price, 5.0, round(list_price * 0.95))

    _write(
        engine,
        "quote_lines",
        _columns(
            "quote_id line_no item_id quantity list_price_cents discount_pct unit_price_cents"
        ),
        line_rows(),
        count,
        say,
    )
    return count


def _tickets(
    engine: Engine,
    count: int,
    accounts: int,
    start: datetime,
    now: datetime,
    rng: random.Random,
    say: Say,
) -> int:
    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, count + 1):
            opened = _spread(n, count, start, now)
            yield (
                n,
                f"TK-{opened.year}-{n:06d}",
                rng.randint(1, accounts),
                ("complaint", "inquiry", "warranty_claim")[n % 3],
                ("phone", "email", "chat", "portal")[n % 4],
                ("low", "normal", "high", "urgent")[n % 4],
                ("open", "in_progress", "resolved", "closed")[n % 4],
                f"Pump {n % ITEMS + 1} leaks",
                "",
                _when(engine, opened),
                _when(engine, opened + timedelta(hours=8)),
                _when(engine, opened + timedelta(hours=72)),
            )

    _write(
        engine,
        "service_tickets",
        _columns(
            "id number customer_id kind channel priority status subject description opened_at "
            "response_due resolution_due"
        ),
        rows(),
        count,
        say,
    )
    return count


def _repairs(
    engine: Engine,
    count: int,
    accounts: int,
    start: datetime,
    now: datetime,
    rng: random.Random,
    say: Say,
) -> int:
    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, count + 1):
            opened = _spread(n, count, start, now)
            yield (
                f"RO-{opened.year}-{n:06d}",
                rng.randint(1, accounts),
                ("in_shop", "field")[n % 2],
                ("open", "assigned", "closed")[n % 3],
                n % ITEMS + 1,
                f"LOT-{n:06d}",
                "does not start",
                "[]",
                n % 2 == 0,
                _when(engine, opened),
            )

    _write(
        engine,
        "repair_orders",
        _columns(
            "number customer_id kind status item_id lot fault required_skills under_warranty "
            "opened_at"
        ),
        rows(),
        count,
        say,
    )
    return count


def _interactions(
    engine: Engine,
    count: int,
    accounts: int,
    owner_of: list[int],
    start: datetime,
    now: datetime,
    rng: random.Random,
    say: Say,
) -> None:
    """Calls, visits, emails, meetings and notes in time order, each with a random customer
    (its owner logged it; half name a contact, a third have a body)."""

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, count + 1):
            customer = rng.randint(1, accounts)
            kind, direction = INTERACTIONS[n % len(INTERACTIONS)]
            yield (
                customer,
                2 * customer - n % 2 if n % 4 < 2 else None,
                kind,
                direction,
                f"{kind.title()} about the offer for line {n % 40 + 1}",
                "Asked for the revised drawing and a delivery date." if n % 3 == 0 else None,
                _when(engine, _spread(n, count, start, now)),
                owner_of[customer],
            )

    _write(
        engine,
        "interactions",
        ("customer_id", "contact_id", "kind", "direction", "subject", "body", "at", "user_id"),
        rows(),
        count,
        say,
    )
