"""Leads: someone who may buy, qualified (BANT) and converted to account, contact and deal.

    new ──► contacted ──► qualified ──► converted
     │          │             │
     └──────────┴─────────────┴──► disqualified (with a reason) ──► contacted (reopened)

Converting reuses an account when one matches (same email, or the same company name in
any case) only when told which: a guess would file the deal under the wrong customer.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from central.crm import accounts, audit, opportunities
from central.db.crm import leads
from central.db.crm import opportunities as opportunity_table
from central.db.domain import contacts, customers, users
from central.db.rows import get, record
from central.orders.errors import Conflict, Invalid, NotFound
from central.orders.numbers import next_number

__all__ = ["MOVES", "PossibleDuplicate", "convert", "create", "detail", "qualify"]

L, C = leads.c, customers.c
# status -> the statuses it may move to by qualification (converting is its own step)
MOVES = {
    "new": {"contacted", "qualified", "disqualified"},
    "contacted": {"qualified", "disqualified"},
    "qualified": {"contacted", "disqualified"},
    "disqualified": {"contacted"},
    "converted": set(),
}
BANT = ("budget_cents", "authority", "need", "timeframe")


class PossibleDuplicate(Conflict):
    """Customers the lead may be: the caller picks one or asks for a new one."""

    def __init__(self, candidates: list[dict[str, Any]]) -> None:
        super().__init__(
            "possible_duplicate",
            "customers with this email or company name exist: convert with"
            ' {"customer": code} to attach to one, or {"new_customer": {...}} for a new one',
            "customer",
        )
        self.candidates = candidates


def create(conn: Connection, values: dict[str, Any], *, source: str, now: datetime) -> str:
    """A new lead (``values``: its columns, owner_id resolved); returns its number.

    Without an owner it gets one from the assignment rules (territory, product line)."""
    if values.get("owner_id") is None:
        values = {
            **values,
            "owner_id": opportunities.owner_by_rules(
                conn,
                territory=values.get("territory"),
                product_line=values.get("product_line"),
                tier=None,
            ),
        }
    number = next_number(conn, "lead", now)
    conn.execute(
        insert(leads).values(**values, number=number, source=source, status="new", created_at=now)
    )
    return number


def qualify(
    conn: Connection, number: str, changes: dict[str, Any], status: str | None, reason: str | None
) -> None:
    """Set BANT and contact fields and move the status; disqualifying needs a reason."""
    row = get(conn, select(L.id, L.status).where(L.number == number), "lead", number)
    if row.status == "converted":
        raise Conflict("converted", f"lead {number} is converted already", "status")
    values = dict(changes)
    if status is not None and status != row.status:
        if status not in MOVES[row.status]:
            raise Conflict("status_move", f"a {row.status} lead cannot become {status}", "status")
        if status == "disqualified" and not (reason or "").strip():
            raise Invalid("reason_required", "disqualifying needs a reason", "disqualified_reason")
        values["status"] = status
        values["disqualified_reason"] = reason if status == "disqualified" else None
    if values:
        conn.execute(update(leads).where(L.id == row.id).values(**values))


def candidates(
    conn: Connection, email: str | None, company: str, phone: str | None = None
) -> list[dict[str, Any]]:
    """Customers a lead may be: the checks a new customer gets (same email or phone, the
    same folded or a similar name)."""
    return accounts.duplicates(conn, name=company, email=email, phone=phone)[:20]


def convert(
    conn: Connection,
    number: str,
    *,
    amount_cents: int,
    expected_close: date,
    by_id: int | None,
    now: datetime,
    customer: str | None = None,
    new_customer: dict[str, Any] | None = None,
    name: str | None = None,
) -> dict[str, str | None]:
    """Make (or attach to) the account, its contact and an opportunity; the lead becomes
    converted with links to all three. Returns the customer code and opportunity number.

    Without ``customer`` or ``new_customer`` a matching customer refuses with
    PossibleDuplicate; with none matching, a new one is made with a code from the company."""
    lead = get(conn, select(leads).where(L.number == number), "lead", number)
    if lead.status in ("converted", "disqualified"):
        raise Conflict("status", f"lead {number} is {lead.status}", "status")
    if customer is not None:
        found = conn.execute(select(C.id, C.code).where(C.code == customer)).first()
        if found is None:
            raise Invalid("unknown_customer", f"no customer {customer!r}", "customer")
        customer_id, code = int(found.id), str(found.code)
    else:
        if new_customer is None:
            matches = candidates(conn, lead.email, lead.company, lead.phone)
            if matches:
                raise PossibleDuplicate(matches)
            new_customer = {"code": _free_code(conn, lead.company)}
        fields = {
            "name": lead.company,
            "email": lead.email,
            "phone": lead.phone,
            "territory": lead.territory,
            "owner_id": lead.owner_id,
            **new_customer,
        }
        code = fields["code"]
        if conn.execute(select(C.id).where(C.code == code)).first() is not None:
            raise Conflict("exists", f"customer {code!r} exists", "new_customer.code")
        result = conn.execute(insert(customers).values(**fields, created_at=now))
        customer_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        made = {k: v for k, v in fields.items() if k != "owner_id"}
        audit.record(
            conn, "customer", code, "created_from_lead", by_id, now, after={**made, "lead": number}
        )
    contact_id = _contact(conn, customer_id, lead)
    opportunity = opportunities.create(
        conn,
        name=name or lead.company,
        customer_id=customer_id,
        contact_id=contact_id,
        amount_cents=amount_cents,
        expected_close=expected_close,
        owner_id=lead.owner_id,
        source=lead.source,
        product_line=lead.product_line,
        by_id=by_id,
        now=now,
    )
    opportunity_id = conn.execute(
        select(opportunity_table.c.id).where(opportunity_table.c.number == opportunity)
    ).scalar_one()
    conn.execute(
        update(leads)
        .where(L.id == lead.id)
        .values(
            status="converted",
            customer_id=customer_id,
            contact_id=contact_id,
            opportunity_id=opportunity_id,
            converted_at=now,
        )
    )
    audit.record(
        conn, "opportunity", opportunity, "created_from_lead", by_id, now,
        after={
            "name": name or lead.company, "customer": code, "amount_cents": amount_cents,
            "expected_close": expected_close, "source": lead.source, "lead": number,
        },
    )  # fmt: skip
    return {"customer": code, "opportunity": opportunity}


def _contact(conn: Connection, customer_id: int, lead: Any) -> int | None:
    """The customer's contact with the lead's email, or a new one; None without a name."""
    K = contacts.c
    if lead.email:
        same = conn.execute(
            select(K.id).where(
                K.customer_id == customer_id, func.lower(K.email) == lead.email.lower()
            )
        ).first()
        if same is not None:
            return int(same.id)
    if not lead.contact_name:
        return None
    result = conn.execute(
        insert(contacts).values(
            customer_id=customer_id, name=lead.contact_name, email=lead.email, phone=lead.phone
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _free_code(conn: Connection, company: str) -> str:
    """A customer code from the company name (ACME-PUMPS), numbered on when taken."""
    base = re.sub(r"[^A-Z0-9]+", "-", company.upper()).strip("-")[:24] or "CUSTOMER"
    code, n = base, 1
    while conn.execute(select(C.id).where(C.code == code)).first() is not None:
        n += 1
        code = f"{base}-{n}"
    return code


def detail(conn: Connection, number: str) -> dict[str, Any]:
    """A lead with its owner's name and the codes of what converting it made."""
    query = (
        select(
            leads,
            users.c.name.label("owner"),
            C.code.label("customer"),
            opportunity_table.c.number.label("opportunity"),
        )
        .outerjoin(users, users.c.id == L.owner_id)
        .outerjoin(customers, C.id == L.customer_id)
        .outerjoin(opportunity_table, opportunity_table.c.id == L.opportunity_id)
        .where(L.number == number)
    )
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("lead", number)
    return record(row, drop=("id", "owner_id", "customer_id", "opportunity_id"))
