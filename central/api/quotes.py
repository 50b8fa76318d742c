"""Quotes: drafted by sales, approved by an admin when discounted beyond the limit, sent,
revised into versions, and accepted into a sales order; printed as PDF.

The rules are the domain's (central.crm.quotes); this module takes the request, checks
who may, and reads the sales settings (discount limit, validity) the rules are judged by.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field, model_validator
from sqlalchemy import Connection, Engine, and_, func, or_, select

from central.api.deps import MAX_ID, Paged, SalesDb, Sync, Write, page_of, writer
from central.api.rows import Body, Code, CodeInPath
from central.auth import DISCOUNT_APPROVAL, SALES
from central.crm import audit, quote_pdf
from central.crm import quotes as domain
from central.db import writing
from central.db.crm import opportunities, quote_lines, quotes
from central.db.domain import customers, sales_orders
from central.orders.errors import Invalid

router = APIRouter(tags=["quotes"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
ApprovalWrite = Annotated[Write, Depends(writer(DISCOUNT_APPROVAL))]
Q, QL = quotes.c, quote_lines.c

MAX_VERSION = 10_000  # versions are a 32-bit column; no quote is revised this often
MAX_VALIDITY = timedelta(days=3 * 365)
OrderType = Literal["standard", "make_to_order", "engineered", "service_contract", "repair"]
QuoteStatus = Literal[
    "draft",
    "pending_approval",
    "approved",
    "sent",
    "accepted",
    "rejected",
    "expired",
    "superseded",
]
Version = Annotated[
    int | None, Query(ge=1, le=MAX_VERSION, description="an older version; default: the latest")
]


class QuoteLine(Body):
    item: Code
    quantity: float = Field(gt=0, le=1e9, allow_inf_nan=False)
    discount_pct: float | None = Field(
        None, ge=0, le=100, allow_inf_nan=False, description="off the item's price"
    )
    unit_price_cents: int | None = Field(
        None, ge=0, le=MAX_ID, description="instead of a discount: the price agreed"
    )
    technical_specs: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_price(self) -> QuoteLine:
        if self.discount_pct is not None and self.unit_price_cents is not None:
            raise ValueError("give discount_pct or unit_price_cents, not both")
        return self


class QuoteFields(Body):
    order_type: OrderType = "standard"
    opportunity: Code | None = Field(None, description="an opportunity of the same customer")
    lines: list[QuoteLine] = Field(min_length=1, max_length=500)
    valid_until: date | None = Field(None, description="default: today + quote_validity_days")
    technical_specs: dict[str, Any] | None = Field(None, description="engineered quotes")
    notes: str | None = Field(None, max_length=4000)


class NewQuote(QuoteFields):
    customer: Code


class Acceptance(Body):
    confirm: bool = Field(False, description="confirm the sales order at once")
    due_date: date | None = None
    customer_reference: str | None = Field(None, max_length=64)


class Reason(Body):
    reason: str = Field(min_length=1, max_length=2000)


def _policy(sync: Sync) -> domain.Policy:
    sales = sync.settings.sales
    return domain.Policy(sales.discount_approval_pct, sales.quote_validity_days)


Policy = Annotated[domain.Policy, Depends(_policy)]


def _checked(fields: QuoteFields, write: Write) -> dict[str, Any]:
    today = write.now.date()
    if fields.valid_until is not None and not (today <= fields.valid_until <= today + MAX_VALIDITY):
        raise Invalid(
            "invalid_valid_until",
            f"valid_until lies between today and {MAX_VALIDITY.days} days ahead",
            "valid_until",
        )
    return fields.model_dump(exclude={"customer"})


@router.post("/quotes", status_code=201)
def create_quote(body: NewQuote, write: SalesWrite, policy: Policy) -> dict[str, Any]:
    """A draft quote, version 1, priced from the items' prices."""
    fields = _checked(body, write)

    def work(conn: Connection) -> dict[str, Any]:
        number = domain.create(
            conn,
            customer=body.customer,
            created_by=write.user.id,
            now=write.now,
            policy=policy,
            **fields,
        )
        answer = _detail(conn, number, write, policy)
        _audit(conn, write, number, "created", None, answer)
        return answer

    return write(work)


@router.get("/quotes")
def list_quotes(
    db: SalesDb,
    page: Paged,
    policy: Policy,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[QuoteStatus] | None, Query()] = None,
    opportunity: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The latest version of each quote, newest first, with its net value."""
    today = _today()
    newer = quotes.alias("newer")
    query = (
        select(
            Q.id,
            Q.number,
            Q.version,
            customers.c.code.label("customer"),
            opportunities.c.number.label("opportunity"),
            Q.status,
            Q.order_type,
            Q.valid_until,
            Q.created_at,
            Q.sent_at,
            Q.approved_by,
        )
        .join(customers, customers.c.id == Q.customer_id)
        .outerjoin(opportunities, opportunities.c.id == Q.opportunity_id)
        .where(
            ~select(newer.c.id)
            .where(newer.c.number == Q.number, newer.c.version > Q.version)
            .exists()
        )  # latest only
        .order_by(Q.number.desc())
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(Q.number < page.after)
    if customer is not None:
        query = query.where(customers.c.code == customer)
    if opportunity is not None:
        query = query.where(opportunities.c.number == opportunity)
    if status:
        past = Q.valid_until < today
        wanted = [
            Q.status.in_([s for s in status if s not in ("sent", "expired")]),
            and_(Q.status == "sent", ~past) if "sent" in status else None,
            or_(Q.status == "expired", and_(Q.status == "sent", past))
            if "expired" in status
            else None,
        ]
        query = query.where(or_(*(w for w in wanted if w is not None)))
    with db.connect() as conn:
        rows = conn.execute(query).all()
        sums = _sums(conn, [r.id for r in rows[: page.limit + 1]])
    listed = []
    for row in rows:
        list_cents, net_cents, deepest = sums.get(row.id, (0, 0, 0.0))
        needs = domain.line_needs_approval(deepest, policy.discount_approval_pct)
        listed.append(
            {
                "number": row.number,
                "version": row.version,
                "customer": row.customer,
                "opportunity": row.opportunity,
                "status": domain.effective_status(row.status, row.valid_until, today),
                "order_type": row.order_type,
                "valid_until": row.valid_until,
                "created_at": row.created_at,
                "sent_at": row.sent_at,
                "needs_approval": needs,
                "approved": row.approved_by is not None,
                "totals": {
                    "list_cents": list_cents,
                    "discount_cents": list_cents - net_cents,
                    "net_cents": net_cents,
                },
            }
        )
    return page_of(listed, page, "number")


@router.get("/quotes/{number}")
def quote(
    number: CodeInPath, db: SalesDb, policy: Policy, version: Version = None
) -> dict[str, Any]:
    """One quote (its latest version unless ``version``): lines, totals, approval."""
    with db.connect() as conn:
        return domain.detail(conn, number, today=_today(), policy=policy, version=version)


@router.put("/quotes/{number}")
def replace_quote(
    number: CodeInPath, body: QuoteFields, write: SalesWrite, policy: Policy
) -> dict[str, Any]:
    """Replace a draft's lines and fields; its customer stays."""
    fields = _checked(body, write)
    _touch(write, number)

    def work(conn: Connection) -> dict[str, Any]:
        before = _detail(conn, number, write, policy)
        domain.replace(conn, number, now=write.now, policy=policy, **fields)
        answer = _detail(conn, number, write, policy)
        _audit(conn, write, number, "replaced", before, answer)
        return answer

    return write(work)


@router.post("/quotes/{number}/submit")
def submit(number: CodeInPath, write: SalesWrite, policy: Policy) -> dict[str, Any]:
    """To an admin for approval when a line is discounted beyond the limit, else approved."""
    return _act(number, write, policy, domain.submit, write.now, policy)


@router.post("/quotes/{number}/approve")
def approve(number: CodeInPath, write: ApprovalWrite, policy: Policy) -> dict[str, Any]:
    """Approve the discounts of a quote pending approval (admin)."""
    return _act(number, write, policy, domain.approve, write.user.id, write.now)


@router.post("/quotes/{number}/reject-approval")
def reject_approval(
    number: CodeInPath, body: Reason, write: ApprovalWrite, policy: Policy
) -> dict[str, Any]:
    """Refuse the discounts (admin): back to draft, and a follow-up task for its author."""
    return _act(
        number, write, policy, domain.reject_approval, write.user.id, write.now, body.reason
    )


@router.post("/quotes/{number}/send")
def send(number: CodeInPath, write: SalesWrite, policy: Policy) -> dict[str, Any]:
    """Mark an approved quote sent to the customer."""
    return _act(number, write, policy, domain.send, write.now, policy)


@router.post("/quotes/{number}/revise", status_code=201)
def revise(number: CodeInPath, write: SalesWrite, policy: Policy) -> dict[str, Any]:
    """The next version, a draft copy of the latest; the latest is superseded."""
    return _act(number, write, policy, domain.revise, write.user.id, write.now, policy)


@router.post("/quotes/{number}/accept")
def accept(
    number: CodeInPath, write: SalesWrite, policy: Policy, body: Acceptance | None = None
) -> dict[str, Any]:
    """The customer accepts: the sales order is made (and confirmed if asked), linked."""
    body = body or Acceptance()
    _touch(write, number)

    def work(conn: Connection) -> dict[str, Any]:
        before = _detail(conn, number, write, policy)
        made = domain.accept(
            conn,
            number,
            write.now,
            confirm=body.confirm,
            due_date=body.due_date,
            customer_reference=body.customer_reference,
        )
        answer = _detail(conn, number, write, policy)
        _audit(conn, write, number, "accepted", before, answer)
        order = made["sales_order"]
        status = conn.execute(
            select(sales_orders.c.status).where(sales_orders.c.number == order)
        ).scalar_one()
        made_from = {"quote": number, "version": answer.get("version"), "status": status}
        audit.record(
            conn, "sales_order", order, "created_from_quote", write.user.id, write.now,
            after=made_from,
        )  # fmt: skip
        return {**answer, **made}

    return write(work)


@router.post("/quotes/{number}/reject")
def reject(number: CodeInPath, body: Reason, write: SalesWrite, policy: Policy) -> dict[str, Any]:
    """The customer turns the quote down, with the reason."""
    return _act(number, write, policy, domain.reject, write.now, body.reason)


@router.get("/quotes/{number}/pdf", response_class=Response)
def quote_pdf_of(
    number: CodeInPath, db: SalesDb, policy: Policy, sync: Sync, version: Version = None
) -> Response:
    """The quote printed from the template (application/pdf), on the company's letterhead."""
    today = _today()
    with db.connect() as conn:
        shown = domain.detail(conn, number, today=today, policy=policy, version=version)
        customer = domain.bill_to(conn, number)
    company = sync.settings.company
    letterhead = quote_pdf.Letterhead(company.name, company.address, company.contact)
    content = quote_pdf.render(shown, customer, printed=today, letterhead=letterhead)
    filename = f"{shown['number']}-v{shown['version']}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _today() -> date:
    return datetime.now(UTC).date()


def _detail(conn: Connection, number: str, write: Write, policy: domain.Policy) -> dict[str, Any]:
    return domain.detail(conn, number, today=write.now.date(), policy=policy)


def _act(
    number: str, write: Write, policy: domain.Policy, action: Any, *args: Any
) -> dict[str, Any]:
    """Do ``action`` on the quote in one unit of work; answer with the quote as it is now."""
    _touch(write, number)

    def work(conn: Connection) -> dict[str, Any]:
        before = _detail(conn, number, write, policy)
        action(conn, number, *args)
        after = _detail(conn, number, write, policy)
        _audit(conn, write, number, action.__name__, before, after)
        return after

    answer: dict[str, Any] = write(work)
    return answer


AUDITED_FIELDS = ("version", "status", "order_type", "valid_until", "sales_order", "totals")


def _audit(
    conn: Connection,
    write: Write,
    number: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """The quote's history: its status, validity, totals and lines (prices included)."""

    def kept(quote: dict[str, Any] | None) -> dict[str, Any] | None:
        if quote is None:
            return None
        lines = [
            {
                k: line.get(k)
                for k in ("line_no", "item", "quantity", "discount_pct", "unit_price_cents")
            }
            for line in quote.get("lines", [])
        ]
        return {**{k: quote.get(k) for k in AUDITED_FIELDS}, "lines": lines}

    audit.record(
        conn, "quote", number, action, write.user.id, write.now,
        before=kept(before), after=kept(after), always=True,
    )  # fmt: skip


def _touch(write: Write, number: str) -> None:
    """Store ``expired`` on the quote if its validity ran out, in a transaction of its own:
    the action after may refuse (and roll back) because of it."""
    engine: Engine = write.engine
    with writing(engine).begin() as conn:
        domain.expire_due(conn, write.now.date(), number)


def _sums(conn: Connection, quote_ids: list[int]) -> dict[int, tuple[int, int, float]]:
    rows = conn.execute(
        select(
            QL.quote_id,
            func.sum(QL.quantity * QL.list_price_cents),
            func.sum(QL.quantity * QL.unit_price_cents),
            func.max(QL.discount_pct),
        )
        .where(QL.quote_id.in_(quote_ids))
        .group_by(QL.quote_id)
    )
    return {
        quote_id: (round(float(lst)), round(float(net)), float(deepest))
        for quote_id, lst, net, deepest in rows
    }
