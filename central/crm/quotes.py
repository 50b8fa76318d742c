"""Quotes: priced lines from items, discounts an admin approves above a limit, versions,
validity, and acceptance into a sales order.

    draft ─submit─> pending_approval ─approve─> approved ─send─> sent ─accept─> accepted
      │ └───────(no line beyond the limit)──────┘    │          ├─reject─> rejected
      │  reject-approval: back to draft               │          └─past valid_until─> expired
      └ PUT replaces its lines and fields              revise (also from sent, expired,
                                                       rejected): version n+1 as a draft,
                                                       the last version superseded

A line is priced from the item's price at quoting (its list price) and either a discount
or an explicit unit price; its discount is what the approval limit is measured against.
A sent quote past its validity reads as expired; ``expire_due`` stores that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from central.db.crm import opportunities, quote_lines, quotes, tasks
from central.db.domain import ORDER_TYPES, customers, items, sales_orders, users
from central.db.rows import dicts, get, record
from central.orders import sales
from central.orders.errors import Conflict, Invalid, NotFound
from central.orders.numbers import next_number

__all__ = [
    "Policy",
    "accept",
    "approve",
    "bill_to",
    "create",
    "detail",
    "effective_status",
    "expire_due",
    "line_needs_approval",
    "line_price",
    "reject",
    "reject_approval",
    "replace",
    "revise",
    "send",
    "submit",
    "totals",
]

Q, QL = quotes.c, quote_lines.c
REVISABLE = ("pending_approval", "approved", "sent", "expired", "rejected")


@dataclass(frozen=True)
class Policy:
    """The sales settings a quote is judged by."""

    discount_approval_pct: float = 10.0
    validity_days: int = 30


# -- pure rules -----------------------------------------------------------------------------


def line_price(
    list_cents: int, *, discount_pct: float | None = None, unit_price_cents: int | None = None
) -> tuple[float, int]:
    """(discount %, unit price) of a line: from a discount, or from an explicit unit price.

    A unit price above the list price is a surcharge: its discount is 0.
    """
    if unit_price_cents is not None:
        if list_cents <= 0 or unit_price_cents >= list_cents:
            return 0.0, unit_price_cents
        # one division of exact integers: a price at exactly the limit gives the limit
        return (list_cents - unit_price_cents) * 100 / list_cents, unit_price_cents
    pct = Decimal(str(discount_pct or 0.0))
    unit = (Decimal(list_cents) * (100 - pct) / 100).quantize(Decimal(1), ROUND_HALF_UP)
    return float(pct), int(unit)


def line_needs_approval(discount_pct: float, limit_pct: float) -> bool:
    """A discount beyond the limit needs an admin; one at exactly the limit does not."""
    return discount_pct > limit_pct


def totals(lines: list[dict[str, Any]]) -> dict[str, int]:
    """List, discount and net value of lines (discount negative when priced above list)."""
    list_cents = round(sum(line["quantity"] * line["list_price_cents"] for line in lines))
    net_cents = round(sum(line["quantity"] * line["unit_price_cents"] for line in lines))
    return {
        "list_cents": list_cents,
        "discount_cents": list_cents - net_cents,
        "net_cents": net_cents,
    }


def effective_status(status: str, valid_until: date, today: date) -> str:
    """A sent quote past its validity is expired, stored or not."""
    return "expired" if status == "sent" and today > valid_until else status


# -- writes ---------------------------------------------------------------------------------


def create(
    conn: Connection,
    *,
    customer: str,
    order_type: str,
    lines: list[dict[str, Any]],
    created_by: int,
    now: datetime,
    policy: Policy,
    opportunity: str | None = None,
    valid_until: date | None = None,
    technical_specs: dict[str, Any] | None = None,
    notes: str | None = None,
) -> str:
    """A draft quote, version 1; ``lines`` are ``{item, quantity, discount_pct?,
    unit_price_cents?, technical_specs?}``. Returns its number."""
    cust = conn.execute(select(customers).where(customers.c.code == customer)).one_or_none()
    if cust is None:
        raise Invalid("unknown_customer", f"no customer {customer!r}", "customer")
    fields = _fields(
        conn, cust.id, order_type, opportunity, valid_until, technical_specs, notes, now, policy
    )
    priced = _priced(conn, order_type, lines, technical_specs)
    number = next_number(conn, "quote", now)
    quote_id = conn.execute(
        insert(quotes).values(
            number=number,
            version=1,
            customer_id=cust.id,
            status="draft",
            created_by=created_by,
            created_at=now,
            **fields,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    _insert_lines(conn, quote_id, priced)
    return number


def replace(
    conn: Connection,
    number: str,
    *,
    order_type: str,
    lines: list[dict[str, Any]],
    now: datetime,
    policy: Policy,
    opportunity: str | None = None,
    valid_until: date | None = None,
    technical_specs: dict[str, Any] | None = None,
    notes: str | None = None,
) -> None:
    """Replace a draft's lines and fields (its customer stays)."""
    quote = _latest(conn, number)
    if quote.status != "draft":
        raise Conflict("not_draft", f"quote {number} is {quote.status}: revise it instead")
    fields = _fields(
        conn,
        quote.customer_id,
        order_type,
        opportunity,
        valid_until,
        technical_specs,
        notes,
        now,
        policy,
    )
    priced = _priced(conn, order_type, lines, technical_specs)
    conn.execute(update(quotes).where(Q.id == quote.id).values(**fields))
    conn.execute(quote_lines.delete().where(QL.quote_id == quote.id))
    _insert_lines(conn, quote.id, priced)


def submit(conn: Connection, number: str, now: datetime, policy: Policy) -> str:
    """Ask for approval when a line is discounted beyond the limit, else approve at once."""
    quote = _latest(conn, number)
    if quote.status != "draft":
        raise Conflict("not_draft", f"quote {number} is {quote.status}, not draft")
    if _needs_approval(conn, quote.id, policy):
        status, values = "pending_approval", {}
    else:
        status, values = "approved", {"approved_at": now}
    conn.execute(update(quotes).where(Q.id == quote.id).values(status=status, **values))
    return status


def approve(conn: Connection, number: str, by: int, now: datetime) -> None:
    """An admin approves the discounts of a quote waiting for it."""
    quote = _latest(conn, number)
    if quote.status != "pending_approval":
        raise Conflict("not_pending", f"quote {number} is {quote.status}, not pending_approval")
    conn.execute(
        update(quotes)
        .where(Q.id == quote.id)
        .values(status="approved", approved_by=by, approved_at=now)
    )


def reject_approval(conn: Connection, number: str, by: int, now: datetime, reason: str) -> None:
    """An admin refuses the discounts: the quote goes back to draft, and its author gets a
    follow-up task saying why (the quote has no column for the reason)."""
    quote = _latest(conn, number)
    if quote.status != "pending_approval":
        raise Conflict("not_pending", f"quote {number} is {quote.status}, not pending_approval")
    conn.execute(update(quotes).where(Q.id == quote.id).values(status="draft"))
    refused_by = conn.execute(select(users.c.name).where(users.c.id == by)).scalar_one()
    conn.execute(
        insert(tasks).values(
            owner_id=quote.created_by,
            kind="quote_follow_up",
            title=f"Discount of {number} v{quote.version} refused"[:200],
            due_at=now,
            customer_id=quote.customer_id,
            opportunity_id=quote.opportunity_id,
            quote_id=quote.id,
            notes=f"{refused_by}: {reason}",
            created_at=now,
        )
    )


def send(conn: Connection, number: str, now: datetime, policy: Policy) -> None:
    """Mark an approved, still valid quote sent to the customer."""
    quote = _latest(conn, number)
    if quote.status == "pending_approval" or (
        quote.status == "approved"
        and quote.approved_by is None
        and _needs_approval(conn, quote.id, policy)  # the limit was lowered meanwhile
    ):
        raise Conflict("needs_approval", f"quote {number} is sent once an admin approved it")
    if quote.status != "approved":
        raise Conflict("not_approved", f"quote {number} is {quote.status}, not approved")
    if now.date() > quote.valid_until:
        raise Conflict(
            "expired",
            f"quote {number} was valid until {quote.valid_until}: revise it",
            "valid_until",
        )
    conn.execute(update(quotes).where(Q.id == quote.id).values(status="sent", sent_at=now))


def revise(conn: Connection, number: str, by: int, now: datetime, policy: Policy) -> int:
    """Copy the latest version into the next one, a draft valid for the usual days; the
    last version is superseded. Returns the new version."""
    quote = _latest(conn, number)
    status = effective_status(quote.status, quote.valid_until, now.date())
    if status == "draft":
        raise Conflict("draft", f"quote {number} is a draft: change it with PUT")
    if status not in REVISABLE:
        raise Conflict(f"{status}", f"quote {number} is {status}: it cannot be revised")
    copied = {
        k: v
        for k, v in quote._mapping.items()
        if k not in ("id", "approved_by", "approved_at", "sent_at", "decided_at")
    }
    version = quote.version + 1
    new_id = conn.execute(
        insert(quotes).values(
            **copied
            | {
                "version": version,
                "status": "draft",
                "created_by": by,
                "created_at": now,
                "valid_until": now.date() + timedelta(days=policy.validity_days),
            }
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(update(quotes).where(Q.id == quote.id).values(status="superseded"))
    lines = conn.execute(
        select(quote_lines).where(QL.quote_id == quote.id).order_by(QL.line_no)
    ).all()
    conn.execute(
        insert(quote_lines),
        [record(line, drop=("id",)) | {"quote_id": new_id} for line in lines],
    )
    return version


def accept(
    conn: Connection,
    number: str,
    now: datetime,
    *,
    confirm: bool = False,
    due_date: date | None = None,
    customer_reference: str | None = None,
) -> dict[str, Any]:
    """The customer accepts a sent quote: its sales order is made (and confirmed if asked)
    with the quote's type, lines, prices and specs, and linked to it."""
    quote = _latest(conn, number)
    status = effective_status(quote.status, quote.valid_until, now.date())
    if status == "expired":
        raise Conflict("expired", f"quote {number} was valid until {quote.valid_until}")
    if status == "accepted":
        order = conn.execute(
            select(sales_orders.c.number).where(sales_orders.c.id == quote.sales_order_id)
        ).scalar_one()
        raise Conflict("accepted", f"quote {number} is accepted already: {order}")
    if status != "sent":
        raise Conflict("not_sent", f"quote {number} is {status}: only a sent quote is accepted")
    customer = conn.execute(
        select(customers.c.code).where(customers.c.id == quote.customer_id)
    ).scalar_one()
    lines = conn.execute(
        select(items.c.code.label("item"), QL.quantity, QL.unit_price_cents, QL.technical_specs)
        .join(items, items.c.id == QL.item_id)
        .where(QL.quote_id == quote.id)
        .order_by(QL.line_no)
    ).all()
    order_number = sales.create(
        conn,
        customer=customer,
        type=quote.order_type,
        lines=dicts(lines),
        now=now,
        due_date=due_date,
        customer_reference=customer_reference,
        technical_specs=quote.technical_specs,
    )
    order_id = conn.execute(
        select(sales_orders.c.id).where(sales_orders.c.number == order_number)
    ).scalar_one()
    conn.execute(
        update(quotes)
        .where(Q.id == quote.id)
        .values(status="accepted", decided_at=now, sales_order_id=order_id)
    )
    answer: dict[str, Any] = {"sales_order": order_number}
    if confirm:
        answer["confirmation"] = sales.confirm(conn, order_number, now)
    return answer


def reject(conn: Connection, number: str, now: datetime, reason: str) -> None:
    """The customer turns a sent (or expired) quote down; the reason joins its notes."""
    quote = _latest(conn, number)
    status = effective_status(quote.status, quote.valid_until, now.date())
    if status not in ("sent", "expired"):
        raise Conflict("not_sent", f"quote {number} is {status}: only a sent quote is rejected")
    note = f"Rejected by the customer on {now.date().isoformat()}: {reason}"
    notes = f"{quote.notes}\n{note}" if quote.notes else note
    conn.execute(
        update(quotes)
        .where(Q.id == quote.id)
        .values(status="rejected", decided_at=now, notes=notes)
    )


def expire_due(conn: Connection, today: date, number: str | None = None) -> int:
    """Store ``expired`` on sent quotes past their validity (one, or all); how many."""
    query = update(quotes).where(Q.status == "sent", Q.valid_until < today)
    if number is not None:
        query = query.where(Q.number == number)
    return conn.execute(query.values(status="expired")).rowcount


# -- reads ----------------------------------------------------------------------------------


def detail(
    conn: Connection, number: str, *, today: date, policy: Policy, version: int | None = None
) -> dict[str, Any]:
    """One version of a quote (the latest unless ``version``) with lines, totals, approval."""
    creator, approver = users.alias("creator"), users.alias("approver")
    query = (
        select(
            Q.id,
            Q.number,
            Q.version,
            customers.c.code.label("customer"),
            opportunities.c.number.label("opportunity"),
            Q.status,
            Q.order_type,
            Q.technical_specs,
            Q.valid_until,
            Q.notes,
            creator.c.name.label("created_by"),
            Q.created_at,
            approver.c.name.label("approved_by"),
            Q.approved_at,
            Q.sent_at,
            Q.decided_at,
            sales_orders.c.number.label("sales_order"),
        )
        .join(customers, customers.c.id == Q.customer_id)
        .join(creator, creator.c.id == Q.created_by)
        .outerjoin(approver, approver.c.id == Q.approved_by)
        .outerjoin(opportunities, opportunities.c.id == Q.opportunity_id)
        .outerjoin(sales_orders, sales_orders.c.id == Q.sales_order_id)
        .where(Q.number == number)
        .order_by(Q.version.desc())
        .limit(1)
    )
    if version is not None:
        query = query.where(Q.version == version)
    quote = get(conn, query, "quote", number if version is None else f"{number} v{version}")
    lines = [
        {
            **record(line),
            "line_total_cents": round(line.quantity * line.unit_price_cents),
            "needs_approval": line_needs_approval(line.discount_pct, policy.discount_approval_pct),
        }
        for line in conn.execute(
            select(
                QL.line_no,
                items.c.code.label("item"),
                items.c.description,
                items.c.unit,
                QL.quantity,
                QL.list_price_cents,
                QL.discount_pct,
                QL.unit_price_cents,
                QL.technical_specs,
            )
            .join(items, items.c.id == QL.item_id)
            .where(QL.quote_id == quote.id)
            .order_by(QL.line_no)
        )
    ]
    needs = any(line["needs_approval"] for line in lines)
    versions = conn.execute(select(Q.version).where(Q.number == number).order_by(Q.version))
    return {
        **record(quote, drop=("id",)),
        "status": effective_status(quote.status, quote.valid_until, today),
        "versions": list(versions.scalars()),
        "needs_approval": needs,
        "approval": {
            "limit_pct": policy.discount_approval_pct,
            "state": _approval_state(quote, needs),
            "approved_by": quote.approved_by,
            "approved_at": quote.approved_at,
        },
        "totals": totals(lines),
        "lines": lines,
    }


def bill_to(conn: Connection, number: str) -> dict[str, Any]:
    """Whom a quote is addressed to: the customer's name, address and terms."""
    row = get(
        conn,
        select(
            customers.c.code,
            customers.c.name,
            customers.c.address,
            customers.c.tax_id,
            customers.c.email,
            customers.c.phone,
            customers.c.payment_terms_days,
        )
        .join(quotes, Q.customer_id == customers.c.id)
        .where(Q.number == number)
        .limit(1),
        "quote",
        number,
    )
    return record(row)


# -- helpers --------------------------------------------------------------------------------


def _approval_state(quote: Any, needs: bool) -> str:
    if quote.status == "pending_approval":
        return "pending"
    if quote.approved_by is not None:
        return "approved"
    return "required" if needs else "not_required"


def _latest(conn: Connection, number: str) -> Any:
    quote = conn.execute(
        # locked: two decisions on one quote (or a decision and a revision) must not interleave
        select(quotes)
        .where(Q.number == number)
        .order_by(Q.version.desc())
        .limit(1)
        .with_for_update()
    ).one_or_none()
    if quote is None:
        raise NotFound("quote", number)
    return quote


def _needs_approval(conn: Connection, quote_id: int, policy: Policy) -> bool:
    deepest = conn.execute(
        select(func.max(QL.discount_pct)).where(QL.quote_id == quote_id)
    ).scalar_one()
    return deepest is not None and line_needs_approval(deepest, policy.discount_approval_pct)


def _fields(
    conn: Connection,
    customer_id: int,
    order_type: str,
    opportunity: str | None,
    valid_until: date | None,
    technical_specs: dict[str, Any] | None,
    notes: str | None,
    now: datetime,
    policy: Policy,
) -> dict[str, Any]:
    if order_type not in ORDER_TYPES:
        raise Invalid(
            "unknown_type",
            f"order type {order_type!r} is none of {', '.join(ORDER_TYPES)}",
            "order_type",
        )
    opportunity_id = None
    if opportunity is not None:
        opp = conn.execute(
            select(opportunities.c.id, opportunities.c.customer_id).where(
                opportunities.c.number == opportunity
            )
        ).one_or_none()
        if opp is None:
            raise Invalid("unknown_opportunity", f"no opportunity {opportunity!r}", "opportunity")
        if opp.customer_id != customer_id:
            raise Invalid(
                "other_customer",
                f"opportunity {opportunity} is another customer's",
                "opportunity",
            )
        opportunity_id = opp.id
    today = now.date()
    if valid_until is None:
        valid_until = today + timedelta(days=policy.validity_days)
    elif valid_until < today:
        raise Invalid("valid_until_past", "valid_until lies in the past", "valid_until")
    return {
        "order_type": order_type,
        "opportunity_id": opportunity_id,
        "valid_until": valid_until,
        "technical_specs": technical_specs,
        "notes": notes,
    }


def _priced(
    conn: Connection,
    order_type: str,
    lines: list[dict[str, Any]],
    technical_specs: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """Lines checked as the sales order will check them, priced from the items' prices."""
    if not lines:
        raise Invalid("no_lines", "a quote needs at least one line", "lines")
    if order_type == "engineered" and not (
        technical_specs or all(line.get("technical_specs") for line in lines)
    ):
        raise Invalid(
            "specs_required",
            "an engineered quote needs its technical specs (the quote's or every line's)",
            "technical_specs",
        )
    codes = {line["item"] for line in lines}
    found = {row.code: row for row in conn.execute(select(items).where(items.c.code.in_(codes)))}
    priced = []
    for i, line in enumerate(lines, start=0):
        item = found.get(line["item"])
        if item is None:
            raise Invalid("unknown_item", f"no item {line['item']!r}", f"lines.{i}.item")
        if order_type == "service_contract" and item.kind != "service":
            raise Invalid(
                "not_service", f"a service contract sells services, not {item.code}", f"lines.{i}"
            )
        quantity = line["quantity"]
        if not isinstance(quantity, int | float) or not math.isfinite(quantity) or quantity <= 0:
            raise Invalid(
                "invalid_quantity", f"quantity must be positive, not {quantity!r}", f"lines.{i}"
            )
        discount, unit = line.get("discount_pct"), line.get("unit_price_cents")
        if discount is not None and unit is not None:
            raise Invalid(
                "discount_and_price",
                "give a discount or a unit price, not both",
                f"lines.{i}.unit_price_cents",
            )
        if discount is not None and not 0 <= discount <= 100:
            raise Invalid("invalid_discount", "a discount is 0 to 100 %", f"lines.{i}.discount_pct")
        if unit is not None and (not isinstance(unit, int) or unit < 0):
            raise Invalid(
                "invalid_price", "a unit price is whole cents >= 0", f"lines.{i}.unit_price_cents"
            )
        pct, unit_cents = line_price(item.price_cents, discount_pct=discount, unit_price_cents=unit)
        priced.append(
            {
                "line_no": i + 1,
                "item_id": item.id,
                "quantity": float(quantity),
                "list_price_cents": item.price_cents,
                "discount_pct": pct,
                "unit_price_cents": unit_cents,
                "technical_specs": line.get("technical_specs"),
            }
        )
    return priced


def _insert_lines(conn: Connection, quote_id: int, priced: list[dict[str, Any]]) -> None:
    conn.execute(insert(quote_lines), [{"quote_id": quote_id, **line} for line in priced])
