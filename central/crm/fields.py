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
}


def hidden(entity: str, user: User) -> list[str]:
    """The fields of ``entity`` ``user`` may not read."""
    return sorted(f for f, roles in HIDDEN.get(entity, {}).items() if not user.may(roles))


def visible(entity: str, row: dict[str, Any], user: User) -> dict[str, Any]:
    """``row`` without the fields ``user`` may not read (named in ``hidden_fields``)."""
    drop = [f for f in hidden(entity, user) if f in row]
    if not drop:
        return row
    return {**{k: v for k, v in row.items() if k not in drop}, "hidden_fields": drop}
