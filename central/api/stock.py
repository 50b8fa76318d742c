"""Stock on hand by item, lot and location, what of it is reserved, and the moves ledger."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from sqlalchemy import func, select, tuple_

from central.api.deps import Db, Paged, PagedById, page_of
from central.api.rows import dicts
from central.db.domain import items, reservations, stock, stock_moves
from protocols.api import ApiError

router = APIRouter(tags=["stock"])
St, M, R = stock.c, stock_moves.c, reservations.c

MoveReason = Literal["receipt", "purchase", "consumption", "shipment", "adjustment"]


def _item_id(code: str) -> Any:
    return select(items.c.id).where(items.c.code == code).scalar_subquery()


@router.get("/stock")
def list_stock(
    db: Db,
    page: Paged,
    item: Annotated[str | None, Query(max_length=64)] = None,
    lot: Annotated[str | None, Query(max_length=64)] = None,
    location: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """What is on hand (rows at zero are left out), reserved and free, per item, lot, location.

    ``next`` is an opaque cursor here: pass it back as ``after``.
    """
    query = (
        select(St.item_id, items.c.code.label("item"), St.lot, St.location, St.quantity)
        .join(items, items.c.id == St.item_id)
        .where(St.quantity != 0)
        .order_by(St.item_id, St.lot, St.location)
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(tuple_(St.item_id, St.lot, St.location) > tuple_(*_key(page.after)))
    if item is not None:
        query = query.where(St.item_id == _item_id(item))
    if lot is not None:
        query = query.where(St.lot == lot)
    if location is not None:
        query = query.where(St.location == location)
    with db.connect() as conn:
        rows = conn.execute(query).all()
        held = conn.execute(
            select(R.item_id, R.lot, R.location, func.sum(R.quantity))
            .where(R.item_id.in_({r.item_id for r in rows}))
            .group_by(R.item_id, R.lot, R.location)
        )
        reserved = {(i, lot_, where): float(q) for i, lot_, where, q in held}
    listed = []
    for r in rows:
        taken = reserved.get((r.item_id, r.lot, r.location), 0.0)
        listed.append(
            {
                "item": r.item,
                "lot": r.lot,
                "location": r.location,
                "quantity": r.quantity,
                "reserved": taken,
                "available": r.quantity - taken,
                "cursor": _cursor(r.item_id, r.lot, r.location),
            }
        )
    result = page_of(listed, page, "cursor")
    for row in result["items"]:
        del row["cursor"]
    return result


@router.get("/stock-moves")
def list_stock_moves(
    db: Db,
    page: PagedById,
    item: Annotated[str | None, Query(max_length=64)] = None,
    lot: Annotated[str | None, Query(max_length=64)] = None,
    reference: Annotated[
        str | None, Query(max_length=64, description="order, work order or shipment number")
    ] = None,
    reason: Annotated[MoveReason | None, Query()] = None,
) -> dict[str, Any]:
    """The stock ledger, oldest move first."""
    query = (
        select(
            M.id,
            items.c.code.label("item"),
            M.lot,
            M.from_location,
            M.to_location,
            M.quantity,
            M.reason,
            M.reference,
            M.at,
        )
        .join(items, items.c.id == M.item_id)
        .order_by(M.id)
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(M.id > page.after)
    if item is not None:
        query = query.where(M.item_id == _item_id(item))
    if lot is not None:
        query = query.where(M.lot == lot)
    if reference is not None:
        query = query.where(M.reference == reference)
    if reason is not None:
        query = query.where(M.reason == reason)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "id")


def _cursor(item_id: int, lot: str, location: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([item_id, lot, location])).decode()


def _key(cursor: str) -> tuple[int, str, str]:
    try:
        item_id, lot, location = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(item_id, int) and isinstance(lot, str) and isinstance(location, str):
            return item_id, lot, location
    except (ValueError, TypeError):
        pass
    problem = "not a cursor this list gave out"
    details = [{"where": "query.after", "message": problem}]
    raise ApiError(422, "invalid_request", f"query.after: {problem}", details)
