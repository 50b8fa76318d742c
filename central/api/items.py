"""Items: what is made, bought or sold as a service, with price, unit and tracking."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import Connection, insert, select, update

from central.api.deps import MAX_ID, Db, Paged, Write, page_of, writer
from central.api.rows import Body, Code, CodeInPath, dicts, get, id_of, record, refuse_duplicate
from central.auth import PLANNING
from central.db.domain import items
from central.orders.errors import Conflict

router = APIRouter(tags=["items"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]

ItemKind = Literal["make", "buy", "service"]
Tracking = Literal["none", "lot", "serial"]


class ItemFields(Body):
    description: str = Field(min_length=1, max_length=200)
    gtin: str | None = Field(None, pattern=r"^\d{8,14}$", description="on its GS1 lot labels")
    kind: ItemKind
    tracking: Tracking = "none"
    unit: str = Field("pcs", min_length=1, max_length=16)
    price_cents: int = Field(0, ge=0, le=MAX_ID)
    lead_time_days: int = Field(
        0, ge=0, le=3650, description="bought items: the supplier's lead time"
    )
    warranty_months: int = Field(
        12, ge=0, le=600, description="from shipment: a repair within it is under warranty"
    )


class NewItem(ItemFields):
    code: Code


@router.get("/items")
def list_items(
    db: Db, page: Paged, kind: Annotated[ItemKind | None, Query()] = None
) -> dict[str, Any]:
    """Items by code."""
    query = select(items).order_by(items.c.code).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(items.c.code > page.after)
    if kind is not None:
        query = query.where(items.c.kind == kind)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query), drop=("id",)), page, "code")


@router.post("/items", status_code=201)
def create_item(body: NewItem, write: PlanningWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        refuse_duplicate(conn, items.c.code, body.code, "item")
        _refuse_taken_gtin(conn, body.gtin, None)
        conn.execute(insert(items).values(**body.model_dump()))
        return _detail(conn, body.code)

    return write(work)


@router.get("/items/{code}")
def item(code: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return _detail(conn, code)


@router.put("/items/{code}")
def replace_item(code: CodeInPath, body: ItemFields, write: PlanningWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        item_id = id_of(conn, items, items.c.code, code, "item")
        _refuse_taken_gtin(conn, body.gtin, item_id)
        conn.execute(update(items).where(items.c.id == item_id).values(**body.model_dump()))
        return _detail(conn, code)

    return write(work)


def _refuse_taken_gtin(conn: Connection, gtin: str | None, item_id: int | None) -> None:
    if gtin is None:
        return
    other = conn.execute(select(items.c.id, items.c.code).where(items.c.gtin == gtin)).first()
    if other is not None and other.id != item_id:
        raise Conflict("exists", f"GTIN {gtin} is item {other.code}'s", "gtin")


def _detail(conn: Connection, code: str) -> dict[str, Any]:
    row = get(conn, select(items).where(items.c.code == code), "item", code)
    return record(row, drop=("id",))
