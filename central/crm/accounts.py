"""Accounts as sales keep them: groups of companies, who decides the buying, tags, and
one record per company (duplicates found when made, merged when they slip through).

Rule tags are computed when read from what the order book already knows, so they are
never stale: ``RULES`` is data, one row a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from central.crm.names import name_key, similar
from central.db import metadata
from central.db.aftersales import rfm_scores, service_tickets
from central.db.crm import customer_addresses, customer_tags
from central.db.domain import BUYING_ROLES, contacts, customers, invoices, sales_orders
from central.db.rows import dicts, get
from central.orders.errors import Conflict, Invalid

C, K = customers.c, contacts.c
MAX_LEVELS = 10  # parent of a parent of ...: deeper is a loop or a data error
NEAR = 2_000  # names compared for similarity: those sharing the first two letters, at most


# ---- duplicates ---------------------------------------------------------------------------


def duplicates(
    conn: Connection,
    *,
    name: str | None = None,
    tax_id: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    exclude: int | None = None,
) -> list[dict[str, Any]]:
    """Customers that may be the company described: same tax id, email or phone, or a name
    that folds to the same or a similar one; each with the ``reasons``."""
    found: dict[int, dict[str, Any]] = {}

    def add(rows: Any, reason: str) -> None:
        for row in rows:
            if row.id != exclude:
                entry = found.setdefault(
                    row.id, {"code": row.code, "name": row.name, "reasons": []}
                )
                if reason not in entry["reasons"]:
                    entry["reasons"].append(reason)

    base = select(C.id, C.code, C.name, C.name_key)
    if tax_id and tax_id.strip():
        wanted = "".join(tax_id.split()).upper()
        add(
            conn.execute(base.where(func.upper(func.replace(C.tax_id, " ", "")) == wanted)),
            "tax_id",
        )
    if email and email.strip():
        add(conn.execute(base.where(func.lower(C.email) == email.strip().lower())), "email")
        people = select(K.customer_id).where(func.lower(K.email) == email.strip().lower())
        add(conn.execute(base.where(C.id.in_(people))), "contact_email")
    if phone and _digits(phone):
        add(conn.execute(base.where(C.phone == phone.strip())), "phone")
    if name and name.strip():
        key = name_key(name)
        # same folded name (indexed), then similar ones among those sharing its first letters
        add(conn.execute(base.where(C.name_key == key)), "same_name")
        prefix = key[:2]
        if prefix:
            near = conn.execute(base.where(C.name_key.like(f"{prefix}%")).limit(NEAR))
            alike = (
                r for r in near if r.name_key and r.name_key != key and similar(r.name_key, key)
            )
            add(alike, "similar_name")
    return sorted(found.values(), key=lambda e: e["code"])


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


# ---- groups and the decision map ----------------------------------------------------------


def check_parent(conn: Connection, customer_id: int | None, parent_id: int) -> None:
    """Refuse a parent that would make the group a loop (422 ``parent_loop``)."""
    seen, current = set(), parent_id
    for _ in range(MAX_LEVELS + 1):
        if current == customer_id or current in seen:
            raise Invalid("parent_loop", "that parent is already below this account", "parent")
        seen.add(current)
        up = conn.execute(select(C.parent_id).where(C.id == current)).scalar_one_or_none()
        if up is None:
            return
        current = up
    raise Invalid("parent_loop", f"groups nest at most {MAX_LEVELS} levels", "parent")


def group(conn: Connection, customer_id: int) -> dict[str, Any]:
    """The account's parent (and theirs, up to the top) and its direct subsidiaries."""
    parents: list[dict[str, Any]] = []
    current = conn.execute(select(C.parent_id).where(C.id == customer_id)).scalar_one()
    while current is not None and len(parents) < MAX_LEVELS:
        row = conn.execute(select(C.code, C.name, C.parent_id).where(C.id == current)).one()
        parents.append({"code": row.code, "name": row.name})
        current = row.parent_id
    subsidiaries = conn.execute(
        select(C.code, C.name).where(C.parent_id == customer_id).order_by(C.code)
    )
    return {"parents": parents, "subsidiaries": dicts(subsidiaries)}


def decision_map(conn: Connection, customer_id: int) -> dict[str, Any]:
    """The account's contacts by their part in the buying decision, with who reports to
    whom drawn as a tree (roots: those reporting to nobody of this account)."""
    people = dicts(
        conn.execute(
            select(K.id, K.name, K.role, K.buying_role, K.reports_to_id, K.email, K.phone)
            .where(K.customer_id == customer_id)
            .order_by(K.id)
        )
    )
    ids = {p["id"] for p in people}
    below: dict[int | None, list[dict[str, Any]]] = {}
    for p in people:
        boss = p["reports_to_id"] if p["reports_to_id"] in ids else None
        below.setdefault(boss, []).append(p)

    def tree(person: dict[str, Any], depth: int) -> dict[str, Any]:
        reports = below.get(person["id"], []) if depth < MAX_LEVELS else []
        return {**person, "reports": [tree(r, depth + 1) for r in reports]}

    return {
        "by_role": {
            role: [p["name"] for p in people if p["buying_role"] == role] for role in BUYING_ROLES
        },
        "unassigned": [p["name"] for p in people if p["buying_role"] is None],
        "missing_roles": [
            r
            for r in ("decision_maker", "purchasing")
            if not any(p["buying_role"] == r for p in people)
        ],
        "tree": [tree(p, 0) for p in below.get(None, [])],
    }


# ---- addresses ----------------------------------------------------------------------------


def addresses(conn: Connection, customer_id: int) -> list[dict[str, Any]]:
    A = customer_addresses.c
    rows = conn.execute(
        select(customer_addresses)
        .where(A.customer_id == customer_id)
        .order_by(A.kind, A.is_default.desc(), A.id)
    )
    return dicts(rows, drop=("customer_id",))


def add_address(conn: Connection, customer_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Add an address; a default one takes the place of its kind's default."""
    A = customer_addresses.c
    if values["is_default"]:
        conn.execute(
            update(customer_addresses)
            .where(A.customer_id == customer_id, A.kind == values["kind"])
            .values(is_default=False)
        )
    result = conn.execute(insert(customer_addresses).values(customer_id=customer_id, **values))
    return {"id": result.inserted_primary_key[0], **values}  # type: ignore[index]


def remove_address(conn: Connection, customer_id: int, address_id: int) -> dict[str, Any]:
    A = customer_addresses.c
    row = get(
        conn,
        select(customer_addresses).where(A.id == address_id, A.customer_id == customer_id),
        "address",
        address_id,
    )
    conn.execute(delete(customer_addresses).where(A.id == address_id))
    return {k: v for k, v in row._mapping.items() if k != "customer_id"}


# ---- tags ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A tag computed from what the order book knows: ``applies(conn, customer_id, now)``."""

    tag: str
    description: str
    applies: Callable[[Connection, int, datetime], bool]


def _bought_lately(conn: Connection, cid: int, now: datetime) -> bool:
    S = sales_orders.c
    return _any(
        conn,
        select(S.id).where(
            S.customer_id == cid,
            S.status.not_in(("draft", "cancelled")),
            S.created_at >= now - timedelta(days=90),
        ),
    )


def _open_complaint(conn: Connection, cid: int, now: datetime) -> bool:
    T = service_tickets.c
    return _any(
        conn,
        select(T.id).where(
            T.customer_id == cid,
            T.kind.in_(("complaint", "warranty_claim")),
            T.status.not_in(("resolved", "closed")),
        ),
    )


def _overdue(conn: Connection, cid: int, now: datetime) -> bool:
    V = invoices.c
    return _any(
        conn, select(V.id).where(V.customer_id == cid, V.status == "open", V.due_date < now.date())
    )


def _any(conn: Connection, query: Any) -> bool:
    return conn.execute(query.limit(1)).first() is not None


RULES = (
    Rule("bought in the last 90 days", "an order confirmed in the last 90 days", _bought_lately),
    Rule("open complaint", "a complaint or warranty claim not yet resolved", _open_complaint),
    Rule("overdue receivables", "an invoice open past its due date", _overdue),
)


def tags(conn: Connection, customer_id: int, now: datetime) -> dict[str, Any]:
    """Tags set by hand and those the rules give now (the RFM segment is one of them)."""
    manual = conn.execute(
        select(customer_tags.c.tag)
        .where(customer_tags.c.customer_id == customer_id)
        .order_by(customer_tags.c.tag)
    ).scalars()
    ruled = [r.tag for r in RULES if r.applies(conn, customer_id, now)]
    segment = conn.execute(
        select(rfm_scores.c.segment).where(rfm_scores.c.customer_id == customer_id)
    ).scalar_one_or_none()
    if segment is not None:
        ruled.append(f"RFM: {segment}")
    return {"manual": list(manual), "rules": ruled}


def set_tags(
    conn: Connection, customer_id: int, wanted: list[str], user_id: int, now: datetime
) -> list[str]:
    """Replace the hand-set tags; returns the tags before."""
    T = customer_tags.c
    before = list(
        conn.execute(select(T.tag).where(T.customer_id == customer_id).order_by(T.tag)).scalars()
    )
    keep = sorted({t.strip() for t in wanted if t.strip()})
    rule_tags = {r.tag for r in RULES}
    clash = [t for t in keep if t in rule_tags or t.startswith("RFM:")]
    if clash:
        raise Invalid("rule_tag", f"{', '.join(clash)} is set by a rule, not by hand", "tags")
    conn.execute(delete(customer_tags).where(T.customer_id == customer_id, T.tag.not_in(keep)))
    new = [t for t in keep if t not in before]
    if new:
        conn.execute(
            insert(customer_tags),
            [
                {"customer_id": customer_id, "tag": t, "added_by": user_id, "added_at": now}
                for t in new
            ],
        )
    return before


# ---- merge --------------------------------------------------------------------------------


def merge(conn: Connection, source_code: str, target_code: str) -> dict[str, int]:
    """Move everything of ``source`` onto ``target`` and delete ``source``; what moved, by
    table. Every table pointing at customers is found from the schema, so one added later
    is not forgotten."""
    if source_code == target_code:
        raise Invalid("same_customer", "an account cannot be merged into itself", "into")
    source = get(conn, select(C.id).where(C.code == source_code), "customer", source_code).id
    target = get(conn, select(C.id).where(C.code == target_code), "customer", target_code).id
    # the source may be the target's parent: the target moves up to the source's place;
    # further up, the group would fold into a loop
    parent = conn.execute(select(C.parent_id).where(C.id == target)).scalar_one()
    if source in _ancestors(conn, target) - {parent}:
        raise Conflict(
            "group_loop", f"{source_code} is above {target_code}'s parent: merge level by level"
        )
    if parent == source:
        up = conn.execute(select(C.parent_id).where(C.id == source)).scalar_one()
        conn.execute(update(customers).where(C.id == target).values(parent_id=up))
    moved: dict[str, int] = {}
    # one score and one tag row per customer: the target keeps its own, the source's go
    conn.execute(delete(rfm_scores).where(rfm_scores.c.customer_id == source))
    T = customer_tags.c
    theirs = select(T.tag).where(T.customer_id == target)
    conn.execute(delete(customer_tags).where(T.customer_id == source, T.tag.in_(theirs)))
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is not C.id or table is rfm_scores:
                continue
            column = fk.parent
            # (customers.parent_id too: the source's subsidiaries now belong to the target)
            count = conn.execute(
                update(table).where(column == source).values({column.name: target})
            ).rowcount
            if count:
                moved[f"{table.name}.{column.name}"] = count
    conn.execute(delete(customers).where(C.id == source))
    return moved


def _ancestors(conn: Connection, customer_id: int) -> set[int]:
    found: set[int] = set()
    current = customer_id
    for _ in range(MAX_LEVELS):
        up = conn.execute(select(C.parent_id).where(C.id == current)).scalar_one_or_none()
        if up is None or up in found:
            break
        found.add(up)
        current = up
    return found


__all__ = [
    "RULES",
    "check_parent",
    "decision_map",
    "duplicates",
    "group",
    "merge",
    "set_tags",
    "tags",
]
