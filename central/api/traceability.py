"""Genealogy of a lot or serial: how it was made (backward), where it went (forward)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from central.aftersales import genealogy
from central.api.deps import Db
from central.orders.errors import Invalid

router = APIRouter(tags=["traceability"])

Lot = Annotated[
    str,
    Query(min_length=1, max_length=64, description="a lot or serial, as on its label"),
]


@router.get("/trace/backward")
def backward(lot: Lot, db: Db) -> dict[str, Any]:
    """The order that made the lot or serial, its operations, materials (made ones traced
    down in turn), inspections and shipments."""
    with db.connect() as conn:
        return genealogy.backward(conn, _clean(lot))


@router.get("/trace/forward")
def forward(lot: Lot, db: Db) -> dict[str, Any]:
    """The recall query: the work orders a lot went into, the lots they made, up through
    parent orders, and the shipments and customers that received any of them."""
    with db.connect() as conn:
        return genealogy.forward(conn, _clean(lot))


def _clean(lot: str) -> str:
    lot = lot.strip()
    if not lot:
        raise Invalid("blank", "lot is blank: give a lot or serial", "lot")
    return lot
