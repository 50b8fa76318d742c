"""Purchase suggestions: bought material planning found short, for purchasing to order."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from central.api.deps import Db, PagedById, page_of
from central.api.rows import dicts
from central.db.domain import items, production_orders, purchase_suggestions

router = APIRouter(tags=["purchase suggestions"])
U = purchase_suggestions.c


@router.get("/purchase-suggestions")
def list_purchase_suggestions(
    db: Db,
    page: PagedById,
    status: Annotated[Literal["open", "ordered", "cancelled"] | None, Query()] = None,
    item: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Suggestions oldest first, with the production order that needs the material (if any)."""
    query = (
        select(
            U.id,
            items.c.code.label("item"),
            U.quantity,
            U.needed_by,
            U.status,
            production_orders.c.number.label("production_order"),
            U.created_at,
        )
        .join(items, items.c.id == U.item_id)
        .outerjoin(production_orders, production_orders.c.id == U.production_order_id)
        .order_by(U.id)
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(U.id > page.after)
    if status is not None:
        query = query.where(U.status == status)
    if item is not None:
        query = query.where(items.c.code == item)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "id")
