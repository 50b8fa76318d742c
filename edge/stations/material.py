"""Material issue: a scanned lot checked against the operation's BOM before it is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from edge.stations.catalog import BomLine, Catalog
from edge.stations.errors import Refused
from protocols.barcode import Scan

# Quantities are floats from scans and master data; a rounding crumb is not an over-issue.
_EPSILON = 1e-9


@dataclass(frozen=True)
class LotScan:
    """The fields of a material label that matter for an issue."""

    gtin: str | None
    batch: str | None
    expiry: date | None = None
    quantity: float | None = None

    @classmethod
    def from_scan(cls, scan: Scan, quantity: float | None = None) -> LotScan:
        """From a parsed GS1 scan; ``quantity`` typed by the worker wins over the label's count."""
        return cls(
            gtin=scan.gtin,
            batch=scan.batch,
            expiry=scan.expiry,
            quantity=quantity if quantity is not None else scan.count,
        )


def requirement(line: BomLine, operation_quantity: float) -> float:
    """How much of ``line``'s component the operation needs, scrap allowance included."""
    return line.quantity_per_unit * operation_quantity * (1.0 + line.scrap_allowance)


def _amount(quantity: float, unit: str) -> str:
    return f"{quantity:g} {unit}"


def check_issue(
    catalog: Catalog,
    work_order: str,
    operation: str,
    lot: LotScan,
    issued_so_far: float,
    today: date,
    *,
    operators: Sequence[str] = (),
    approved_by: str | None = None,
) -> dict[str, Any]:
    """The ``material_issue`` payload for this lot, or ``Refused``.

    ``approved_by`` is the supervisor badge that allows an issue above requirement plus
    tolerance; the caller has already checked the supervisor (badge and PIN).
    """
    order = catalog.order(work_order)
    op = catalog.operation(work_order, operation)
    if lot.gtin is None:
        raise Refused("no_gtin", "This label has no GTIN. Scan the material's lot label.")
    item = catalog.item_by_gtin(lot.gtin)
    line = next(
        (b for b in catalog.bom_lines(order.item, operation) if b.component == item.item), None
    )
    if line is None:
        raise Refused(
            "not_in_bom",
            f"Wrong material: {item.item} is not used at {operation} of {work_order}.",
        )
    if not lot.batch:
        raise Refused("no_lot", f"No lot number on this label. Scan the lot label of {item.item}.")
    if lot.expiry is not None and lot.expiry < today:
        raise Refused(
            "lot_expired",
            f"Lot {lot.batch} of {item.item} expired on {lot.expiry.isoformat()}. Do not use it.",
        )
    if lot.quantity is None:
        raise Refused("quantity_needed", f"How much of lot {lot.batch}? Enter the quantity.")
    if lot.quantity <= 0:
        raise Refused("bad_quantity", "The quantity must be more than zero.")

    needed = requirement(line, op.quantity)
    remaining = max(needed - issued_so_far, 0.0)
    # the tolerance is on the whole requirement, not granted again with every lot
    limit = max(needed * (1.0 + line.issue_tolerance) - issued_so_far, 0.0)
    over = lot.quantity > limit + _EPSILON * max(1.0, needed)
    if over and approved_by is None:
        raise Refused(
            "over_issue",
            f"Too much: only {_amount(remaining, item.unit)} of {item.item} still needed "
            f"(at most {_amount(limit, item.unit)} with tolerance), not "
            f"{_amount(lot.quantity, item.unit)}. A supervisor can approve.",
        )
    payload: dict[str, Any] = {
        "work_order": work_order,
        "operation": operation,
        "item": item.item,
        "lot": lot.batch,
        "quantity": float(lot.quantity),
        "unit": item.unit,
        "gtin": lot.gtin.zfill(14),
        "operators": list(operators),
    }
    if lot.expiry is not None:
        payload["expiry"] = lot.expiry.isoformat()
    if over:
        payload["over_issue_approved_by"] = approved_by
    return payload
