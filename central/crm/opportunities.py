"""Opportunities through the pipeline's stages: who owns them, how they move, what they weigh.

A stage is open (its probability weighs the forecast) or an outcome, won or lost; every move
is kept in ``opportunity_stages``, so conversion from stage to stage is counted from it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from central.db.crm import (
    assignment_rules,
    leads,
    opportunities,
    opportunity_stages,
    pipeline_stages,
)
from central.db.domain import customers, users
from central.db.rows import dicts, get, record
from central.orders.errors import Conflict, Invalid
from central.orders.numbers import next_number

__all__ = [
    "BOARD_CARDS",
    "Stage",
    "board",
    "conversion",
    "create",
    "forecast",
    "move",
    "owner_by_rules",
    "stages",
    "summary_query",
    "update_fields",
]

BOARD_CARDS = 50  # cards per column: the ones closing soonest; counts and totals cover all
Op, P = opportunities.c, pipeline_stages.c


@dataclass(frozen=True)
class Stage:
    code: str
    name: str
    position: int
    probability: float
    outcome: str | None  # None: open


def stages(conn: Connection) -> list[Stage]:
    """Every stage, by position."""
    rows = conn.execute(select(pipeline_stages).order_by(P.position))
    return [Stage(r.code, r.name, r.position, r.probability, r.outcome) for r in rows]


def owner_by_rules(
    conn: Connection, *, territory: str | None, product_line: str | None, tier: str | None
) -> int | None:
    """The owner of the first rule (by position) whose set fields all match; None: no rule."""
    given = {"territory": territory, "product_line": product_line, "tier": tier}
    for rule in conn.execute(select(assignment_rules).order_by(assignment_rules.c.position)):
        wanted = {k: getattr(rule, k) for k in given if getattr(rule, k) is not None}
        if all(given[k] == v for k, v in wanted.items()):
            return int(rule.owner_id)
    return None


def create(
    conn: Connection,
    *,
    name: str,
    customer_id: int,
    amount_cents: int,
    expected_close: date,
    by_id: int | None,
    now: datetime,
    contact_id: int | None = None,
    owner_id: int | None = None,
    stage: str | None = None,
    source: str | None = None,
    product_line: str | None = None,
    competitors: list[str] | None = None,
) -> str:
    """A new opportunity (in the first open stage unless ``stage`` says); returns its number.

    Without an owner it gets one from the assignment rules, matched on its customer's
    territory and tier and its product line."""
    known = {s.code: s for s in stages(conn)}
    if stage is None:
        stage = next((s.code for s in known.values() if s.outcome is None), None)
        if stage is None:
            raise Conflict("no_open_stage", "the pipeline has no open stage", "stage")
    elif stage not in known:
        raise Invalid("unknown_stage", f"no stage {stage!r}", "stage")
    elif known[stage].outcome is not None:
        raise Invalid("closed_stage", "a new opportunity starts in an open stage", "stage")
    if owner_id is None:
        customer = conn.execute(
            select(customers.c.territory, customers.c.tier).where(customers.c.id == customer_id)
        ).one()
        owner_id = owner_by_rules(
            conn, territory=customer.territory, product_line=product_line, tier=customer.tier
        )
    number = next_number(conn, "opportunity", now)
    result = conn.execute(
        insert(opportunities).values(
            number=number,
            name=name,
            customer_id=customer_id,
            contact_id=contact_id,
            stage=stage,
            amount_cents=amount_cents,
            expected_close=expected_close,
            owner_id=owner_id,
            source=source,
            product_line=product_line,
            competitors=competitors or [],
            created_at=now,
            stage_changed_at=now,
        )
    )
    conn.execute(
        insert(opportunity_stages).values(
            opportunity_id=result.inserted_primary_key[0],  # type: ignore[index]
            stage=stage,
            previous=None,
            by_id=by_id,
            at=now,
        )
    )
    return number


def update_fields(conn: Connection, number: str, changes: dict[str, Any]) -> None:
    """Change amount, expected close, owner, competitors or contact (ids resolved already)."""
    found = get(conn, select(Op.id).where(Op.number == number), "opportunity", number)
    if changes:
        conn.execute(update(opportunities).where(Op.id == found.id).values(**changes))


def move(
    conn: Connection,
    number: str,
    stage: str,
    *,
    by_id: int | None,
    now: datetime,
    lost_reason: str | None = None,
) -> bool:
    """Move an opportunity to ``stage``, kept in its history; False when it is there already.

    Lost needs a reason; won and lost close it (``closed_at``); a closed one reopens only
    to an open stage."""
    row = get(conn, select(Op.id, Op.stage).where(Op.number == number), "opportunity", number)
    known = {s.code: s for s in stages(conn)}
    target = known.get(stage)
    if target is None:
        raise Invalid("unknown_stage", f"no stage {stage!r}", "stage")
    if stage == row.stage:
        return False
    current = known[row.stage]
    if current.outcome is not None and target.outcome is not None:
        raise Conflict(
            "closed",
            f"the opportunity is {current.outcome}; reopen it to an open stage first",
            "stage",
        )
    if target.outcome == "lost" and not (lost_reason or "").strip():
        raise Invalid("lost_reason_required", "a lost opportunity needs a reason", "lost_reason")
    conn.execute(
        update(opportunities)
        .where(Op.id == row.id)
        .values(
            stage=stage,
            stage_changed_at=now,
            closed_at=now if target.outcome is not None else None,
            lost_reason=lost_reason if target.outcome == "lost" else None,
        )
    )
    conn.execute(
        insert(opportunity_stages).values(
            opportunity_id=row.id, stage=stage, previous=row.stage, by_id=by_id, at=now
        )
    )
    return True


def summary_query() -> Any:
    """Opportunities as lists and cards show them: codes and names instead of ids."""
    return (
        select(
            Op.number,
            Op.name,
            customers.c.code.label("customer"),
            Op.stage,
            Op.amount_cents,
            Op.expected_close,
            users.c.name.label("owner"),
            Op.source,
            Op.product_line,
            Op.competitors,
            Op.lost_reason,
            Op.created_at,
            Op.stage_changed_at,
            Op.closed_at,
        )
        .join(customers, customers.c.id == Op.customer_id)
        .outerjoin(users, users.c.id == Op.owner_id)
    )


def board(conn: Connection, cards: int = BOARD_CARDS) -> dict[str, Any]:
    """Per open stage, by position: count and totals of all its opportunities (one GROUP BY)
    and the ``cards`` closing soonest (one index range each, on ix_opportunities_stage_close)."""
    every = stages(conn)
    open_ = [s for s in every if s.outcome is None]
    stage = Op.stage  # the totals come from the covering index alone
    totals = {
        r.stage: (int(r.n), int(r.amount or 0))
        for r in conn.execute(
            select(
                stage.label("stage"),
                func.count().label("n"),
                func.sum(Op.amount_cents).label("amount"),
            )
            .select_from(opportunities)
            .where(stage.in_([s.code for s in open_]))
            .group_by(stage)
        )
    }
    columns = []
    for s in open_:
        rows = conn.execute(
            summary_query()
            .where(Op.stage == s.code)
            .order_by(Op.expected_close, Op.id)
            .limit(cards)
        )
        count, amount = totals.get(s.code, (0, 0))
        columns.append(
            {
                "stage": s.code,
                "name": s.name,
                "probability": s.probability,
                "count": count,
                "amount_cents": amount,
                "weighted_cents": round(amount * s.probability),
                "opportunities": [
                    {
                        "number": r.number,
                        "name": r.name,
                        "customer": r.customer,
                        "amount_cents": r.amount_cents,
                        "weighted_cents": round(r.amount_cents * s.probability),
                        "expected_close": r.expected_close,
                        "owner": r.owner,
                    }
                    for r in rows
                ],
            }
        )
    outcomes = [{"stage": s.code, "name": s.name, "outcome": s.outcome} for s in every if s.outcome]
    return {
        "stages": columns,
        "outcomes": outcomes,
        "count": sum(c["count"] for c in columns),
        "amount_cents": sum(c["amount_cents"] for c in columns),
        "weighted_cents": sum(c["weighted_cents"] for c in columns),
    }


def forecast(conn: Connection, by: str, start: date, end: date) -> dict[str, Any]:
    """Open amounts (unweighted and weighted by stage probability) of opportunities expected
    to close from ``start`` to ``end`` (both included), and amounts won in that time, by
    expected-close month (won: the month it was won) or by owner.

    Weighted amounts are rounded per group and stage: round(Σ amount * probability)."""
    known = {s.code: s for s in stages(conn)}
    open_codes = [c for c, s in known.items() if s.outcome is None]
    won_codes = [c for c, s in known.items() if s.outcome == "won"]
    owner = users.c.name.label("owner")
    key_column: Any = Op.expected_close if by == "month" else owner
    groups: dict[Any, dict[str, int]] = defaultdict(
        lambda: {"count": 0, "amount_cents": 0, "weighted_cents": 0, "won_cents": 0}
    )
    open_rows = conn.execute(
        select(
            key_column,
            Op.stage,
            func.count().label("count"),
            func.sum(Op.amount_cents).label("sum"),
        )
        .select_from(opportunities.outerjoin(users, users.c.id == Op.owner_id))
        .where(Op.stage.in_(open_codes), Op.expected_close.between(start, end))
        .group_by(key_column, Op.stage)
    )
    # summed per (group, stage) first, so each weighted amount is rounded once, not per day
    summed: dict[tuple[Any, str], list[int]] = defaultdict(lambda: [0, 0])
    for key, stage, count, amount in open_rows:
        sums = summed[_month(key) if by == "month" else key, stage]
        sums[0] += int(count)
        sums[1] += int(amount)
    for (key, stage), (count, amount) in summed.items():
        group = groups[key]
        group["count"] += count
        group["amount_cents"] += amount
        group["weighted_cents"] += round(amount * known[stage].probability)
    # won from the first moment of ``start`` to the last of ``end`` (UTC days)
    since = datetime.combine(start, time(), UTC)
    until = datetime.combine(end + timedelta(days=1), time(), UTC)
    won_rows = conn.execute(
        select(Op.closed_at, owner, Op.amount_cents)
        .select_from(opportunities.outerjoin(users, users.c.id == Op.owner_id))
        .where(Op.stage.in_(won_codes), Op.closed_at >= since, Op.closed_at < until)
    )
    for closed_at, who, amount in won_rows:
        groups[_month(closed_at.date()) if by == "month" else who]["won_cents"] += amount
    name = "month" if by == "month" else "owner"
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    rows = [{name: key, **values} for key, values in ordered]
    total = {
        k: sum(r[k] for r in rows) for k in ("count", "amount_cents", "weighted_cents", "won_cents")
    }
    return {"by": by, "from": start, "to": end, "rows": rows, "total": total}


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def conversion(conn: Connection) -> dict[str, Any]:
    """Per stage: how many opportunities entered it, how many of those went on to a later
    stage (by position, lost not counted) and how many are won now; per lead source: the
    share of leads converted, and of those the share won."""
    every = stages(conn)
    won_codes = [s.code for s in every if s.outcome == "won"]
    H = opportunity_stages.c
    entered: dict[str, int] = dict(
        conn.execute(
            select(H.stage, func.count(func.distinct(H.opportunity_id))).group_by(H.stage)
        ).all()
    )
    later = aliased(opportunity_stages)
    here_stage, later_stage = aliased(pipeline_stages), aliased(pipeline_stages)
    advanced: dict[str, int] = dict(
        conn.execute(
            select(H.stage, func.count(func.distinct(H.opportunity_id)))
            .join(here_stage, here_stage.c.code == H.stage)
            .join(later, later.c.opportunity_id == H.opportunity_id)
            .join(later_stage, later_stage.c.code == later.c.stage)
            .where(
                later_stage.c.position > here_stage.c.position,
                or_(later_stage.c.outcome.is_(None), later_stage.c.outcome == "won"),
            )
            .group_by(H.stage)
        ).all()
    )
    won: dict[str, int] = dict(
        conn.execute(
            select(H.stage, func.count(func.distinct(H.opportunity_id)))
            .join(opportunities, Op.id == H.opportunity_id)
            .where(Op.stage.in_(won_codes))
            .group_by(H.stage)
        ).all()
    )
    by_stage = []
    for s in every:
        n = int(entered.get(s.code, 0))
        moved, w = int(advanced.get(s.code, 0)), int(won.get(s.code, 0))
        by_stage.append(
            {
                "stage": s.code,
                "entered": n,
                "advanced": moved,
                "won": w,
                "advanced_share": moved / n if n else None,
                "won_share": w / n if n else None,
            }
        )
    L = leads.c
    by_source = []
    query = (
        select(
            L.source,
            func.count().label("leads"),
            func.count(L.opportunity_id).label("converted"),
            func.count(Op.id).label("won"),
        )
        .select_from(
            leads.outerjoin(opportunities, and_(Op.id == L.opportunity_id, Op.stage.in_(won_codes)))
        )
        .group_by(L.source)
        .order_by(L.source)
    )
    for r in conn.execute(query):
        converted, total, won_n = int(r.converted), int(r.leads), int(r.won)
        by_source.append(
            {
                "source": r.source,
                "leads": total,
                "converted": converted,
                "won": won_n,
                "converted_share": converted / total if total else None,
                "won_share": won_n / converted if converted else None,
            }
        )
    return {"stages": by_stage, "sources": by_source}


def history(conn: Connection, opportunity_id: int) -> list[dict[str, Any]]:
    """The stages an opportunity entered, oldest first, with who moved it."""
    H = opportunity_stages.c
    query = (
        select(H.stage, H.previous, users.c.name.label("by"), H.at)
        .outerjoin(users, users.c.id == H.by_id)
        .where(H.opportunity_id == opportunity_id)
        .order_by(H.at, H.id)
    )
    return dicts(conn.execute(query))


def detail(conn: Connection, number: str) -> dict[str, Any]:
    """One opportunity as the API shows it, with its contact and stage history."""
    row = get(
        conn,
        summary_query().add_columns(Op.id, Op.contact_id).where(Op.number == number),
        "opportunity",
        number,
    )
    return {
        **record(row, drop=("id", "contact_id")),
        "contact_id": row.contact_id,
        "history": history(conn, row.id),
    }


def delete_stage(conn: Connection, code: str) -> None:
    """Only a stage no opportunity is or ever was in: its history would lose its meaning."""
    get(conn, select(P.code).where(P.code == code), "stage", code)
    H = opportunity_stages.c
    used = conn.execute(
        select(Op.id)
        .where(Op.stage == code)
        .union_all(select(H.id).where(H.stage == code))
        .limit(1)
    ).first()
    if used is not None:
        raise Conflict("in_use", f"stage {code!r} has opportunities; rename it instead", "code")
    conn.execute(delete(pipeline_stages).where(P.code == code))
