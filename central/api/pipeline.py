"""Leads, opportunities and the pipeline: the board, the forecast and conversion rates, with
the stages and assignment rules admins keep. What each step does is central.crm's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field, model_validator
from sqlalchemy import Connection, delete, insert, select, update

from central.api.deps import (
    MAX_ID,
    Db,
    Paged,
    PagedById,
    SalesDb,
    Write,
    engine_of,
    page_of,
    writer,
)
from central.api.rows import FIRST_YEAR, LAST_YEAR, Body, Code, CodeInPath, dicts, get, record
from central.auth import SALES
from central.crm import audit
from central.crm import leads as lead_flow
from central.crm import opportunities as flow
from central.db import writing
from central.db.crm import assignment_rules, leads, opportunities, pipeline_stages
from central.db.domain import contacts, customers, users
from central.orders.errors import Conflict, Invalid
from protocols.api import ApiError

router = APIRouter(tags=["pipeline"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
AdminWrite = Annotated[Write, Depends(writer(("admin",)))]
L, Op, P, R = leads.c, opportunities.c, pipeline_stages.c, assignment_rules.c
WEB_FORM_BYTES = 16_384  # a form a person fills in; more is not a lead

Cents = Annotated[int, Field(ge=0, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
UserName = Annotated[str, Field(min_length=1, max_length=64, description="a user's name")]
Position = Annotated[int, Field(ge=0, le=1_000_000)]
Competitors = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=20)
]


class ContactFields(Body):
    contact_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    product_line: Code | None = None


class NewLead(ContactFields):
    company: Name
    source: Literal["manual", "import", "referral", "trade_show"] = "manual"
    territory: Code | None = None
    message: str | None = Field(None, max_length=4000)
    budget_cents: Cents | None = None
    authority: bool | None = None
    need: str | None = Field(None, max_length=2000)
    timeframe: str | None = Field(None, max_length=64)
    owner: UserName | None = Field(None, description="none: by the assignment rules")


class WebLead(ContactFields):
    """What the public form sends; ``website`` is a honeypot people never see nor fill."""

    company: Name
    message: str | None = Field(None, max_length=4000)
    website: str | None = Field(None, max_length=200)


class Qualification(ContactFields):
    """The fields given change; ``status`` moves it (disqualified needs a reason)."""

    company: Name | None = None
    territory: Code | None = None
    budget_cents: Cents | None = None
    authority: bool | None = None
    need: str | None = Field(None, max_length=2000)
    timeframe: str | None = Field(None, max_length=64)
    owner: UserName | None = None
    status: Literal["new", "contacted", "qualified", "disqualified"] | None = None
    disqualified_reason: str | None = Field(None, max_length=2000)


class NewAccount(Body):
    code: Code
    name: Name | None = Field(None, description="default: the lead's company")
    tax_id: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=2000)
    territory: Code | None = None
    tier: Literal["A", "B", "C"] | None = None


class Conversion(Body):
    amount_cents: Cents
    expected_close: date
    name: Name | None = Field(None, description="the opportunity's; default: the company")
    customer: Code | None = Field(None, description="attach to this existing customer")
    new_customer: NewAccount | None = Field(None, description="make this customer")

    @model_validator(mode="after")
    def _one_account(self) -> Conversion:
        if self.customer is not None and self.new_customer is not None:
            raise ValueError("give customer or new_customer, not both")
        return self


class NewOpportunity(Body):
    name: Name
    customer: Code
    contact: int | None = Field(None, ge=1, le=MAX_ID, description="a contact id of the customer")
    amount_cents: Cents
    expected_close: date
    owner: UserName | None = Field(None, description="none: by the assignment rules")
    stage: Code | None = Field(None, description="default: the first open stage")
    product_line: Code | None = None
    competitors: Competitors = []


class OpportunityChanges(Body):
    """The fields given change (``owner``/``contact`` null: none)."""

    name: Name | None = None
    amount_cents: Cents | None = None
    expected_close: date | None = None
    owner: UserName | None = None
    contact: int | None = Field(None, ge=1, le=MAX_ID)
    competitors: Competitors | None = None


class StageMove(Body):
    stage: Code
    lost_reason: str | None = Field(None, max_length=2000, description="required for lost")


class StageFields(Body):
    name: str = Field(min_length=1, max_length=64)
    position: Position
    probability: float = Field(ge=0, le=1)
    outcome: Literal["won", "lost"] | None = Field(None, description="none: an open stage")


class NewStage(StageFields):
    code: Code


class RuleFields(Body):
    position: Position
    owner: UserName
    territory: Code | None = None
    product_line: Code | None = None
    tier: Literal["A", "B", "C"] | None = None


# --- leads ---------------------------------------------------------------------------


@router.post("/leads", status_code=201)
def create_lead(body: NewLead, write: SalesWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        values = body.model_dump(exclude={"owner", "source"})
        values["owner_id"] = _user_id(conn, body.owner, "owner")
        number = lead_flow.create(conn, values, source=body.source, now=write.now)
        return lead_flow.detail(conn, number)

    return write(work)


async def _small(request: Request) -> None:
    """Refuse a body over WEB_FORM_BYTES before it is parsed, however it is sent (a chunked
    body has no length to trust): read it with a cap; FastAPI then reads the cached body."""
    size = request.headers.get("content-length")
    too_large = ApiError(413, "too_large", f"a web lead is at most {WEB_FORM_BYTES} bytes")
    if size is not None and (not size.isdigit() or int(size) > WEB_FORM_BYTES):
        raise too_large
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > WEB_FORM_BYTES:
            raise too_large
    request._body = bytes(received)  # Starlette's cache of the body, which the route reads


@router.post("/web-leads", status_code=202, dependencies=[Depends(_small)])
def web_lead(body: WebLead, request: Request) -> dict[str, str]:
    """The website's contact form: no token. The answer is the same whether or not the lead
    was kept, so a bot filling the honeypot learns nothing."""
    if not body.website:
        now = datetime.now(UTC)
        values = body.model_dump(exclude={"website"})
        with writing(engine_of(request)).begin() as conn:
            lead_flow.create(conn, values, source="web_form", now=now)
    return {"status": "received"}


@router.get("/leads")
def list_leads(
    db: SalesDb,
    page: PagedById,
    status: Annotated[str | None, Query(max_length=16)] = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    """Newest first (by id)."""
    query = (
        select(
            L.id,
            L.number,
            L.source,
            L.status,
            L.company,
            L.contact_name,
            L.email,
            L.product_line,
            L.territory,
            users.c.name.label("owner"),
            L.created_at,
        )
        .outerjoin(users, users.c.id == L.owner_id)
        .order_by(L.id.desc())
        .limit(page.limit + 1)
    )
    if page.after is not None:
        query = query.where(L.id < page.after)
    if status is not None:
        query = query.where(L.status == status)
    if source is not None:
        query = query.where(L.source == source)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "id")


@router.get("/leads/{number}")
def lead(number: CodeInPath, db: SalesDb) -> dict[str, Any]:
    with db.connect() as conn:
        return lead_flow.detail(conn, number)


@router.patch("/leads/{number}")
def qualify_lead(number: CodeInPath, body: Qualification, write: SalesWrite) -> dict[str, Any]:
    """Qualify: set BANT and contact fields, move the status."""

    def work(conn: Connection) -> dict[str, Any]:
        given = body.model_fields_set - {"status", "disqualified_reason", "owner"}
        changes = {k: getattr(body, k) for k in given}
        if "company" in changes and changes["company"] is None:
            raise Invalid("required", "a lead needs a company", "company")
        if "owner" in body.model_fields_set:
            changes["owner_id"] = _user_id(conn, body.owner, "owner")
        lead_flow.qualify(conn, number, changes, body.status, body.disqualified_reason)
        return lead_flow.detail(conn, number)

    return write(work)


@router.post("/leads/{number}/convert")
def convert_lead(number: CodeInPath, body: Conversion, write: SalesWrite) -> dict[str, Any]:
    """Make or attach the account, the contact and an opportunity. A customer with the same
    email or company name is 409 ``possible_duplicate`` listing them, unless the body says."""

    def work(conn: Connection) -> dict[str, Any]:
        made = lead_flow.convert(
            conn,
            number,
            amount_cents=body.amount_cents,
            expected_close=body.expected_close,
            name=body.name,
            customer=body.customer,
            new_customer=(
                body.new_customer.model_dump(exclude_none=True) if body.new_customer else None
            ),
            by_id=write.user.id,
            now=write.now,
        )
        return {**lead_flow.detail(conn, number), **made}

    try:
        answer: dict[str, Any] = write(work)
    except lead_flow.PossibleDuplicate as exc:
        details = {"field": exc.field, "candidates": exc.candidates}
        raise ApiError(409, exc.code, exc.message, details) from None
    return answer


# --- opportunities -------------------------------------------------------------------


@router.post("/opportunities", status_code=201)
def create_opportunity(body: NewOpportunity, write: SalesWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        customer = get(
            conn,
            select(customers.c.id).where(customers.c.code == body.customer),
            "customer",
            body.customer,
        )
        number = flow.create(
            conn,
            name=body.name,
            customer_id=customer.id,
            contact_id=_contact_id(conn, customer.id, body.contact),
            amount_cents=body.amount_cents,
            expected_close=body.expected_close,
            owner_id=_user_id(conn, body.owner, "owner"),
            stage=body.stage,
            product_line=body.product_line,
            competitors=body.competitors,
            by_id=write.user.id,
            now=write.now,
        )
        answer = flow.detail(conn, number)
        _audit(conn, write, number, "created", None, answer)
        return answer

    return write(work)


@router.get("/opportunities")
def list_opportunities(
    db: SalesDb,
    page: Paged,
    stage: Annotated[str | None, Query(max_length=64)] = None,
    owner: Annotated[str | None, Query(max_length=64, description="a user's name")] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    closing_after: Annotated[date | None, Query(description="expected close on or after")] = None,
    closing_before: Annotated[date | None, Query(description="expected close before")] = None,
) -> dict[str, Any]:
    """By number."""
    query = flow.summary_query().order_by(Op.number).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(Op.number > page.after)
    if stage is not None:
        query = query.where(Op.stage == stage)
    if owner is not None:
        query = query.where(users.c.name == owner)
    if customer is not None:
        query = query.where(customers.c.code == customer)
    if closing_after is not None:
        query = query.where(Op.expected_close >= closing_after)
    if closing_before is not None:
        query = query.where(Op.expected_close < closing_before)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "number")


@router.get("/opportunities/{number}")
def opportunity(number: CodeInPath, db: SalesDb) -> dict[str, Any]:
    """An opportunity with its stage history."""
    with db.connect() as conn:
        return flow.detail(conn, number)


@router.patch("/opportunities/{number}")
def change_opportunity(
    number: CodeInPath, body: OpportunityChanges, write: SalesWrite
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        row = get(conn, select(Op.customer_id).where(Op.number == number), "opportunity", number)
        changes: dict[str, Any] = {}
        for field in body.model_fields_set:
            value = getattr(body, field)
            if field == "owner":
                changes["owner_id"] = _user_id(conn, value, "owner")
            elif field == "contact":
                changes["contact_id"] = _contact_id(conn, row.customer_id, value)
            elif value is None:
                raise Invalid("required", f"{field} cannot be null", field)
            else:
                changes[field] = value
        before = flow.detail(conn, number)
        flow.update_fields(conn, number, changes)
        answer = flow.detail(conn, number)
        _audit(conn, write, number, "updated", before, answer)
        return answer

    return write(work)


@router.post("/opportunities/{number}/stage")
def move_opportunity(number: CodeInPath, body: StageMove, write: SalesWrite) -> dict[str, Any]:
    """Move to a stage (kept in the history); lost needs ``lost_reason``; a won or lost
    opportunity reopens only to an open stage."""

    def work(conn: Connection) -> dict[str, Any]:
        before = flow.detail(conn, number)
        flow.move(
            conn,
            number,
            body.stage,
            lost_reason=body.lost_reason,
            by_id=write.user.id,
            now=write.now,
        )
        answer = flow.detail(conn, number)
        _audit(conn, write, number, "moved", before, answer)
        return answer

    return write(work)


# --- the board, forecast and conversion ------------------------------------------------


@router.get("/pipeline")
def pipeline(
    db: SalesDb,
    cards: Annotated[int, Query(ge=0, le=200, description="cards per stage")] = flow.BOARD_CARDS,
) -> dict[str, Any]:
    """Per open stage: count, amount and weighted totals, and the cards closing soonest."""
    with db.connect() as conn:
        return flow.board(conn, cards)


@router.get("/forecast")
def forecast(
    db: SalesDb,
    by: Literal["month", "owner"] = "month",
    start: Annotated[date | None, Query(alias="from", description="default: this month")] = None,
    end: Annotated[date | None, Query(alias="to", description="default: a year on")] = None,
) -> dict[str, Any]:
    """Open amounts (weighted by stage probability, and not) by expected-close month or by
    owner, and the amounts won in that time; both dates included."""
    for name, day in (("from", start), ("to", end)):
        # the default end and the won window add days: year 9999 overflowed into a 500
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise Invalid("bad_date", f"{name} must lie between {FIRST_YEAR} and {LAST_YEAR}", name)
    start = start or datetime.now(UTC).date().replace(day=1)
    end = end or start + timedelta(days=365)
    if end < start:
        raise Invalid("bad_range", "to is before from", "to")
    with db.connect() as conn:
        return flow.forecast(conn, by, start, end)


@router.get("/pipeline/conversion")
def conversion(db: SalesDb) -> dict[str, Any]:
    """Per stage: entered, went on to a later stage, won; per lead source: converted, won."""
    with db.connect() as conn:
        return flow.conversion(conn)


# --- stages and assignment rules (admin) -------------------------------------------------


@router.get("/pipeline-stages")
def list_stages(db: Db) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return dicts(conn.execute(select(pipeline_stages).order_by(P.position)))


@router.post("/pipeline-stages", status_code=201)
def create_stage(body: NewStage, write: AdminWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        if conn.execute(select(P.code).where(P.code == body.code)).first() is not None:
            raise Conflict("exists", f"stage {body.code!r} exists", "code")
        _position_free(conn, pipeline_stages, body.position, P.code != body.code)
        conn.execute(insert(pipeline_stages).values(**body.model_dump()))
        return body.model_dump()

    return write(work)


@router.put("/pipeline-stages/{code}")
def replace_stage(code: CodeInPath, body: StageFields, write: AdminWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        get(conn, select(P.code).where(P.code == code), "stage", code)
        _position_free(conn, pipeline_stages, body.position, P.code != code)
        conn.execute(update(pipeline_stages).where(P.code == code).values(**body.model_dump()))
        return {"code": code, **body.model_dump()}

    return write(work)


@router.delete("/pipeline-stages/{code}", status_code=204)
def delete_stage(code: CodeInPath, write: AdminWrite) -> None:
    """Only a stage no opportunity is or ever was in."""
    write(lambda conn: flow.delete_stage(conn, code))


@router.get("/assignment-rules")
def list_rules(db: Db) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return dicts(conn.execute(_rule_query().order_by(R.position)))


@router.post("/assignment-rules", status_code=201)
def create_rule(body: RuleFields, write: AdminWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        _position_free(conn, assignment_rules, body.position, R.id.is_not(None))
        result = conn.execute(insert(assignment_rules).values(**_rule_values(conn, body)))
        return _rule(conn, int(result.inserted_primary_key[0]))  # type: ignore[index]

    return write(work)


@router.put("/assignment-rules/{rule_id}")
def replace_rule(
    rule_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: RuleFields, write: AdminWrite
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        _rule(conn, rule_id)
        _position_free(conn, assignment_rules, body.position, R.id != rule_id)
        values = _rule_values(conn, body)
        conn.execute(update(assignment_rules).where(R.id == rule_id).values(**values))
        return _rule(conn, rule_id)

    return write(work)


@router.delete("/assignment-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: Annotated[int, Path(ge=1, le=MAX_ID)], write: AdminWrite) -> None:
    def work(conn: Connection) -> None:
        _rule(conn, rule_id)
        conn.execute(delete(assignment_rules).where(R.id == rule_id))

    write(work)


# --- helpers ---------------------------------------------------------------------------


def _user_id(conn: Connection, name: str | None, field: str) -> int | None:
    if name is None:
        return None
    found = conn.execute(select(users.c.id).where(users.c.name == name)).first()
    if found is None:
        raise Invalid("unknown_user", f"no user {name!r}", field)
    return int(found.id)


def _contact_id(conn: Connection, customer_id: int, contact: int | None) -> int | None:
    if contact is None:
        return None
    K = contacts.c
    found = conn.execute(select(K.id).where(K.id == contact, K.customer_id == customer_id)).first()
    if found is None:
        raise Invalid("unknown_contact", f"the customer has no contact {contact}", "contact")
    return contact


def _position_free(conn: Connection, table: Any, position: int, other: Any) -> None:
    taken = conn.execute(
        select(table.c.position).where(table.c.position == position, other)
    ).first()
    if taken is not None:
        raise Conflict("position_taken", f"position {position} is taken", "position")


def _rule_query() -> Any:
    return select(
        R.id, R.position, R.territory, R.product_line, R.tier, users.c.name.label("owner")
    ).join(users, users.c.id == R.owner_id)


def _rule(conn: Connection, rule_id: int) -> dict[str, Any]:
    return record(get(conn, _rule_query().where(R.id == rule_id), "assignment rule", rule_id))


def _rule_values(conn: Connection, body: RuleFields) -> dict[str, Any]:
    values = body.model_dump(exclude={"owner"})
    values["owner_id"] = _user_id(conn, body.owner, "owner")
    return values


AUDITED_FIELDS = (
    "name", "customer", "contact", "stage", "amount_cents", "expected_close", "owner",
    "product_line", "competitors", "lost_reason", "closed_at",
)  # fmt: skip


def _audit(
    conn: Connection,
    write: Write,
    number: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    def kept(found: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if found is None else {k: found.get(k) for k in AUDITED_FIELDS}

    audit.record(
        conn, "opportunity", number, action, write.user.id, write.now,
        before=kept(before), after=kept(after),
    )  # fmt: skip
