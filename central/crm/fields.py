"""Who may read which fields: credit and prices are for sales and admin only.

The rule is data (``HIDDEN``: entity -> field -> the roles that may read it) and applied
in one place as records leave the API, so every view of an entity (detail, list, export,
the customer 360) hides the same fields; a record that lost fields says which in
``hidden_fields``. Writes are checked by the routes that take the field (a credit limit
by admins only).
"""

from __future__ import annotations

from typing import Any

from central.auth import SALES, User

HIDDEN: dict[str, dict[str, tuple[str, ...]]] = {
    "customer": {"credit_limit_cents": SALES, "exposure_cents": SALES},
    # "lines.x": the field x of every row of the record's ``lines``
    "sales_order": {
        "value_cents": SALES,
        "lines.unit_price_cents": SALES,
        "invoices": SALES,
        "hold_reason": SALES,  # a credit hold's reason quotes the limit and the exposure
    },
    # the timeline of a customer: what was invoiced and paid
    "timeline": {"items.amount_cents": SALES},
}
# In the audit history a field is hidden whole when any part of it is ("lines" for
# "lines.unit_price_cents"); quotes and opportunities are sales' own documents.
AUDIT_HIDDEN: dict[str, tuple[str, ...]] = {
    "customer": ("credit_limit_cents", "exposure_cents"),
    "sales_order": ("lines", "hold_reason", "invoice", "value_cents"),
    "quote": ("lines", "totals"),
    "opportunity": ("amount_cents",),
}


def hidden(entity: str, user: User) -> list[str]:
    """The fields of ``entity`` ``user`` may not read."""
    return sorted(f for f, roles in HIDDEN.get(entity, {}).items() if not user.may(roles))


def visible(entity: str, row: dict[str, Any], user: User) -> dict[str, Any]:
    """``row`` without the fields ``user`` may not read (named in ``hidden_fields``)."""
    hide = hidden(entity, user)
    drop = [f for f in hide if f in row]
    nested: dict[str, set[str]] = {}
    for path in hide:
        if "." in path:
            outer, inner = path.split(".", 1)
            if isinstance(row.get(outer), list):
                nested.setdefault(outer, set()).add(inner)
    if not drop and not nested:
        return row
    shown = {k: v for k, v in row.items() if k not in drop}
    for outer, names in nested.items():
        shown[outer] = [{k: v for k, v in item.items() if k not in names} for item in row[outer]]
    return {
        **shown,
        "hidden_fields": sorted(drop + [f"{o}.{i}" for o, ii in nested.items() for i in ii]),
    }


def visible_changes(entity: str, entry: dict[str, Any], user: User) -> dict[str, Any]:
    """An audit entry without the changed fields ``user`` may not read."""
    if user.may(SALES):
        return entry
    drop = [f for f in AUDIT_HIDDEN.get(entity, ()) if f in entry["changes"]]
    if not drop:
        return entry
    changes = {k: v for k, v in entry["changes"].items() if k not in drop}
    return {**entry, "changes": changes, "hidden_fields": sorted(drop)}
