"""The customer 360: everything sales and service need about one customer, in one answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from central.aftersales.customer360 import overview
from central.api.deps import CurrentUser, Db
from central.api.rows import CodeInPath
from central.crm import fields

router = APIRouter(tags=["customers"])


@router.get("/customers/{code}/overview")
def customer_overview(code: CodeInPath, db: Db, user: CurrentUser) -> dict[str, Any]:
    """Contacts, the newest orders with their progress, shipments, open receivables,
    tickets, repairs and the RFM segment with its history (each list the newest 20).
    Credit figures only for sales and admin, as everywhere (central.crm.fields)."""
    with db.connect() as conn:
        found = overview(conn, code, datetime.now(UTC))
    orders = found["orders"]
    shown = [fields.visible("sales_order", order, user) for order in orders["items"]]
    return {
        **found,
        "customer": fields.visible("customer", found["customer"], user),
        "orders": {**orders, "items": shown},
    }
