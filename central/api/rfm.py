"""RFM: runs on demand and their history, segments, scores, changes and who sales should call.

How scores and segments are made is central.aftersales.rfm's; this module reads what the
last run stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, Field
from sqlalchemy import Connection, and_, func, or_, select

from central.aftersales import rfm
from central.api.deps import MAX_ID, Db, Paged, PagedById, Sync, Write, page_of, writer
from central.api.rows import Body, CodeInPath, Instant, dicts, get, id_of, record
from central.auth import SALES
from central.db.aftersales import rfm_history, rfm_runs, rfm_scores, service_tickets
from central.db.domain import customers, sales_order_lines, sales_orders
from central.orders.errors import Invalid

router = APIRouter(tags=["rfm"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
C, S, H, R = customers.c, rfm_scores.c, rfm_history.c, rfm_runs.c

# whom sales should call when no segment is named
REPURCHASE = ("At Risk", "Can't Lose Them", "About to Sleep", "Need Attention")
OPEN_TICKET = service_tickets.c.status.not_in(("resolved", "closed"))

SegmentQuery = Annotated[
    str | None, Query(max_length=32, description="one of the segments; all when left out")
]


class RunRequest(Body):
    window_days: int | None = Field(
        None, ge=1, le=3650, description="default: the configured rfm.window_days"
    )
    as_of: Instant | None = Field(None, description="the window's end; default: now")


@router.post("/rfm-runs", status_code=201)
def run_now(write: SalesWrite, sync: Sync, body: RunRequest | None = None) -> dict[str, Any]:
    """Score every customer now; the run's summary with its customers per segment."""
    body = body or RunRequest()
    as_of = body.as_of or write.now
    if as_of > write.now:
        raise Invalid("as_of_in_future", "as_of lies in the future", "as_of")
    window_days = body.window_days or sync.settings.rfm.window_days

    def work(conn: Connection) -> dict[str, Any]:
        # the stored scores and their history are the latest run's: an older as_of would
        # turn them back and write history out of order
        last = conn.execute(select(func.max(R.as_of))).scalar_one_or_none()
        if last is not None and as_of < last:
            raise Invalid(
                "as_of_before_last_run",
                f"as_of lies before the last run's ({last.isoformat()}): scores only move on",
                "as_of",
            )
        return rfm.compute(conn, as_of, window_days, "on_demand")

    return write(work)


@router.get("/rfm-runs")
def list_runs(db: Db, page: PagedById) -> dict[str, Any]:
    """Runs, newest first."""
    query = select(rfm_runs).order_by(R.id.desc()).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(R.id < page.after)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "id")


@router.get("/rfm/segments")
def segments(db: Db) -> dict[str, Any]:
    """The rule table in the order it is applied (first match wins), with customers in each."""
    with db.connect() as conn:
        counts: dict[str, int] = {
            segment: n
            for segment, n in conn.execute(select(S.segment, func.count()).group_by(S.segment))
        }
        last = conn.execute(select(rfm_runs).order_by(R.id.desc()).limit(1)).first()
    return {
        "last_run": None if last is None else record(last),
        "items": [
            {
                "name": s.name,
                "r": list(s.r),
                "fm": list(s.fm),
                "description": s.description,
                "action": s.action,
                "customers": counts.get(s.name, 0),
            }
            for s in rfm.SEGMENTS
        ],
    }


@router.get("/rfm/customers")
def scored_customers(db: Db, page: Paged, segment: SegmentQuery = None) -> dict[str, Any]:
    """Current scores by customer code."""
    query = _scores_query().order_by(C.code).limit(page.limit + 1)
    if segment is not None:
        query = query.where(S.segment == _known(segment))
    if page.after is not None:
        query = query.where(C.code > page.after)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "customer")


@router.get("/rfm/changes")
def changes(
    db: Db,
    page: PagedById,
    since: Annotated[AwareDatetime | None, Query(description="changes at or after")] = None,
    run: Annotated[int | None, Query(ge=1, le=MAX_ID, description="changes of this run")] = None,
) -> dict[str, Any]:
    """Segment changes, newest first: those of ``run``, those ``since``, or the last run's."""
    if since is not None and run is not None:
        raise Invalid("since_or_run", "give since or run, not both", "run")
    query = (
        select(
            H.id,
            H.run_id.label("run"),
            H.at,
            C.code.label("customer"),
            C.name,
            H.previous,
            H.segment,
        )
        .join(customers, C.id == H.customer_id)
        .order_by(H.id.desc())
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(H.id < page.after)
    with db.connect() as conn:
        if since is not None:
            query = query.where(H.at >= since)
        else:
            if run is None:
                run = conn.execute(select(func.max(R.id))).scalar_one()
                if run is None:
                    return {"items": [], "next": None}
            else:
                get(conn, select(R.id).where(R.id == run), "rfm run", run)
            query = query.where(H.run_id == run)
        return page_of(dicts(conn.execute(query)), page, "id")


@router.get("/rfm/repurchase")
def repurchase(
    db: Db,
    page: Paged,
    segment: Annotated[
        list[str] | None,
        Query(description=f"repeatable; default: {', '.join(REPURCHASE)}"),
    ] = None,
) -> dict[str, Any]:
    """Customers to call, most valuable first: scores, their last 3 orders, open tickets.

    ``after`` is the last customer code of the page before.
    """
    wanted = [_known(s) for s in segment] if segment else list(REPURCHASE)
    query = (
        _scores_query()
        .where(S.segment.in_(wanted))
        .order_by(S.monetary_cents.desc(), C.code)
        .limit(page.limit + 1)
    )
    with db.connect() as conn:
        if page.after is not None:
            value = conn.execute(
                select(S.monetary_cents)
                .join(customers, C.id == S.customer_id)
                .where(C.code == page.after)
            ).scalar_one_or_none()
            if value is None:
                raise Invalid("unknown_after", f"no scored customer {page.after!r}", "after")
            query = query.where(
                or_(
                    S.monetary_cents < value,
                    and_(S.monetary_cents == value, C.code > page.after),
                )
            )
        rows = conn.execute(query.add_columns(S.customer_id)).all()
        ids = [r.customer_id for r in rows]
        orders = last_orders(conn, ids)
        tickets = open_tickets(conn, ids)
    listed = [
        {
            **record(r, drop=("customer_id",)),
            "last_orders": orders.get(r.customer_id, []),
            "open_tickets": tickets.get(r.customer_id, []),
        }
        for r in rows
    ]
    return page_of(listed, page, "customer")


@router.get("/customers/{code}/rfm")
def customer_rfm(code: CodeInPath, db: Db) -> dict[str, Any]:
    """A customer's current scores (None when not scored) and segment history, newest first."""
    with db.connect() as conn:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        return {"customer": code, **scores_of(conn, customer_id)}


def scores_of(conn: Connection, customer_id: int) -> dict[str, Any]:
    """``current`` scores (None before the customer's first scoring) and segment ``history``."""
    current = conn.execute(_scores_query().where(S.customer_id == customer_id)).first()
    history = conn.execute(
        select(H.run_id.label("run"), H.at, H.previous, H.segment)
        .where(H.customer_id == customer_id)
        .order_by(H.at.desc(), H.id.desc())
    )
    return {
        "current": None if current is None else record(current, drop=("customer", "name")),
        "history": dicts(history),
    }


def last_orders(conn: Connection, customer_ids: Sequence[int], n: int = 3) -> dict[int, list[Any]]:
    """Each customer's ``n`` latest orders of any status (number, date, value, status)."""
    if not customer_ids:
        return {}
    SO, L = sales_orders.c, sales_order_lines.c
    moment = func.coalesce(SO.confirmed_at, SO.created_at)
    ranked = (
        select(
            SO.id,
            SO.customer_id,
            SO.number,
            moment.label("date"),
            SO.status,
            func.row_number()
            .over(partition_by=SO.customer_id, order_by=(moment.desc(), SO.id.desc()))
            .label("rank"),
        )
        .where(SO.customer_id.in_(customer_ids))
        .subquery()
    )
    value = (
        select(func.coalesce(func.sum(L.quantity * L.unit_price_cents), 0))
        .where(L.sales_order_id == ranked.c.id)
        .scalar_subquery()
    )
    query = (
        select(ranked.c.customer_id, ranked.c.number, ranked.c.date, value, ranked.c.status)
        .where(ranked.c.rank <= n)
        .order_by(ranked.c.customer_id, ranked.c.rank)
    )
    found: dict[int, list[Any]] = {}
    for customer_id, number, date, cents, status in conn.execute(query):
        found.setdefault(customer_id, []).append(
            {"number": number, "date": date, "value_cents": round(cents), "status": status}
        )
    return found


def open_tickets(conn: Connection, customer_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each customer's tickets not resolved or closed, oldest first."""
    if not customer_ids:
        return {}
    T = service_tickets.c
    query = (
        select(T.customer_id, T.number, T.subject, T.priority, T.status, T.opened_at)
        .where(T.customer_id.in_(customer_ids), OPEN_TICKET)
        .order_by(T.customer_id, T.opened_at, T.id)
    )
    found: dict[int, list[Any]] = {}
    for row in conn.execute(query):
        found.setdefault(row.customer_id, []).append(record(row, drop=("customer_id",)))
    return found


def _scores_query() -> Any:
    return select(
        C.code.label("customer"),
        C.name,
        S.segment,
        S.since,
        S.r,
        S.f,
        S.m,
        S.recency_days,
        S.frequency,
        S.monetary_cents,
        S.run_id.label("run"),
    ).join(customers, C.id == S.customer_id)


def _known(segment: str) -> str:
    if segment not in rfm.NAMES:
        raise Invalid(
            "unknown_segment",
            f"no segment {segment!r}; one of {', '.join(rfm.NAMES)}",
            "segment",
        )
    return segment
