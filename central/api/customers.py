"""Customers and their contacts: the account as sales keep it (owner, tier, territory,
parent account), duplicates refused when made, every change kept in the audit log; the
credit a customer has used, as confirming counts it.

Credit figures are for sales and admin only (``central.crm.fields``): other roles read
the account without them, and are told which fields were left out.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from sqlalchemy import Connection, insert, or_, select, update

from central.api.deps import MAX_ID, CurrentUser, Db, Paged, PagedById, Write, page_of, writer
from central.api.errors import Forbidden
from central.api.rows import Body, Code, CodeInPath, dicts, get, id_of, record, refuse_duplicate
from central.auth import CREDIT_OVERRIDE, SALES
from central.crm import accounts, audit, fields
from central.crm.names import name_key
from central.db.crm import customer_tags
from central.db.domain import BUYING_ROLES, contacts, customers, users
from central.orders.errors import Conflict, Invalid
from central.orders.sales import exposure_cents

router = APIRouter(tags=["customers"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
C, K = customers.c, contacts.c
Tier = Annotated[str, Field(pattern="^[ABC]$", description="A / B / C")]


class CustomerFields(Body):
    name: str = Field(min_length=1, max_length=200)
    tax_id: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=2000)
    credit_limit_cents: int | None = Field(None, ge=0, le=MAX_ID, description="none: no limit")
    payment_terms_days: int = Field(30, ge=0, le=3650)
    territory: Code | None = Field(
        None, description="sales territory; where field service comes from"
    )
    tier: Tier | None = None
    owner: str | None = Field(None, max_length=64, description="the account manager's user name")
    parent: Code | None = Field(None, description="the parent account's code (B2B groups)")


class NewCustomer(CustomerFields):
    code: Code
    allow_duplicate: bool = Field(
        False, description="make it even though it looks like an existing customer"
    )


class NewContact(Body):
    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(None, max_length=64, description="job title")
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    buying_role: str | None = Field(
        None, max_length=64, description=f"one of {', '.join(BUYING_ROLES)}"
    )
    reports_to: int | None = Field(None, ge=1, le=MAX_ID, description="a contact id of the account")


@router.get("/customers")
def list_customers(
    db: Db,
    page: Paged,
    user: CurrentUser,
    tag: Annotated[str | None, Query(max_length=64, description="set by hand")] = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    territory: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="the start of the code, or of a word of the name"),
    ] = None,
) -> dict[str, Any]:
    """Customers by code."""
    query = _listed().order_by(C.code).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(C.code > page.after)
    if q is not None and q.strip():
        query = query.where(_matching(q))
    if tag is not None:
        tagged = select(customer_tags.c.customer_id).where(customer_tags.c.tag == tag)
        query = query.where(C.id.in_(tagged))
    if owner is not None:
        query = query.where(users.c.name == owner)
    if territory is not None:
        query = query.where(C.territory == territory)
    with db.connect() as conn:
        rows = [
            fields.visible("customer", r, user) for r in dicts(conn.execute(query), drop=("id",))
        ]
    return page_of(rows, page, "code")


@router.get("/customer-duplicates")
def find_duplicates(
    db: Db,
    name: Annotated[str | None, Query(max_length=200)] = None,
    tax_id: Annotated[str | None, Query(max_length=32)] = None,
    email: Annotated[str | None, Query(max_length=200)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Customers that may be the company described, each with why: ask before making one."""
    with db.connect() as conn:
        found = accounts.duplicates(conn, name=name, tax_id=tax_id, email=email, phone=phone)
    return {"items": found}


@router.post("/customers", status_code=201)
def create_customer(body: NewCustomer, write: SalesWrite) -> dict[str, Any]:
    """A customer; 409 ``possible_duplicate`` with the candidates when one looks the same
    (same tax id, email or phone, or a similar name) unless ``allow_duplicate``."""
    return write(lambda conn: _create(conn, body, write))


@router.get("/customers/{code}")
def customer(code: CodeInPath, db: Db, user: CurrentUser) -> dict[str, Any]:
    """A customer with contacts, group (parent, subsidiaries), tags and the credit exposure
    a confirmation would count."""
    with db.connect() as conn:
        return fields.visible("customer", _detail(conn, code), user)


@router.put("/customers/{code}")
def replace_customer(code: CodeInPath, body: CustomerFields, write: SalesWrite) -> dict[str, Any]:
    """Replace the customer's fields. The credit limit is kept when the body leaves it out,
    and only those who may override credit (admin) may change it: otherwise lifting a
    held order's limit would be the override sales may not make."""

    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        before = _audited(conn, customer_id)
        values = _values(conn, body, customer_id)
        if "credit_limit_cents" not in body.model_fields_set:
            del values["credit_limit_cents"]
        elif values["credit_limit_cents"] != before["credit_limit_cents"] and not write.user.may(
            CREDIT_OVERRIDE
        ):
            raise Forbidden("changing credit_limit_cents", CREDIT_OVERRIDE)
        conn.execute(update(customers).where(C.id == customer_id).values(**values))
        after = _audited(conn, customer_id)
        audit.record(
            conn, "customer", code, "updated", write.user.id, write.now, before=before, after=after
        )
        return fields.visible("customer", _detail(conn, code), write.user)

    return write(work)


@router.get("/customers/{code}/contacts")
def list_contacts(code: CodeInPath, db: Db, page: PagedById) -> dict[str, Any]:
    with db.connect() as conn:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        query = (
            select(contacts)
            .where(K.customer_id == customer_id)
            .order_by(K.id)
            .limit(page.limit + 1)
        )
        if page.after is not None:
            query = query.where(K.id > page.after)
        return page_of(dicts(conn.execute(query), drop=("customer_id",)), page, "id")


@router.post("/customers/{code}/contacts", status_code=201)
def add_contact(code: CodeInPath, body: NewContact, write: SalesWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        values = _contact_values(conn, customer_id, body)
        result = conn.execute(insert(contacts).values(customer_id=customer_id, **values))
        contact_id = result.inserted_primary_key[0]  # type: ignore[index]
        audit.record(
            conn, "contact", str(contact_id), "created", write.user.id, write.now,
            after={"customer": code, **values},
        )  # fmt: skip
        return {"id": contact_id, **values}

    return write(work)


@router.put("/customers/{code}/contacts/{contact_id}")
def replace_contact(
    code: CodeInPath,
    contact_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: NewContact,
    write: SalesWrite,
) -> dict[str, Any]:
    """Replace a contact's fields (404 for a contact of another customer)."""

    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        row = get(
            conn,
            select(contacts).where(K.id == contact_id, K.customer_id == customer_id),
            "contact",
            contact_id,
        )
        values = _contact_values(conn, customer_id, body)
        _refuse_loop(conn, contact_id, body.reports_to)
        conn.execute(update(contacts).where(K.id == contact_id).values(**values))
        before = record(row, drop=("id", "customer_id"))
        audit.record(
            conn, "contact", str(contact_id), "updated", write.user.id, write.now,
            before={"customer": code, **before}, after={"customer": code, **values},
        )  # fmt: skip
        return {"id": contact_id, **values}

    return write(work)


def _refuse_loop(conn: Connection, contact_id: int, boss: int | None) -> None:
    """Refuse a boss who reports (through others) to the contact: the map would be a loop."""
    for _ in range(accounts.MAX_LEVELS + 1):
        if boss is None:
            return
        if boss == contact_id:
            raise Invalid("reports_to_loop", "that contact reports to this one", "reports_to")
        boss = conn.execute(select(K.reports_to_id).where(K.id == boss)).scalar_one_or_none()
    raise Invalid(
        "reports_to_loop", f"reporting lines go {accounts.MAX_LEVELS} deep at most", "reports_to"
    )


def _contact_values(conn: Connection, customer_id: int, body: NewContact) -> dict[str, Any]:
    values = body.model_dump(exclude={"reports_to"})
    if body.buying_role is not None and body.buying_role not in BUYING_ROLES:
        raise Invalid(
            "unknown_buying_role",
            f"buying_role {body.buying_role!r}: one of {', '.join(BUYING_ROLES)}",
            "buying_role",
        )
    if body.reports_to is not None:
        boss = conn.execute(
            select(K.id).where(K.id == body.reports_to, K.customer_id == customer_id)
        ).first()
        if boss is None:
            raise Invalid(
                "unknown_contact", f"no contact {body.reports_to} of this account", "reports_to"
            )
    values["reports_to_id"] = body.reports_to
    return values


def _create(conn: Connection, body: NewCustomer, write: Write) -> dict[str, Any]:
    refuse_duplicate(conn, C.code, body.code, "customer")
    if not body.allow_duplicate:
        alike = accounts.duplicates(
            conn, name=body.name, tax_id=body.tax_id, email=body.email, phone=body.phone
        )
        if alike:
            raise Conflict(
                "possible_duplicate",
                f"{body.name!r} looks like {', '.join(a['code'] for a in alike)}: "
                "use that customer, or send allow_duplicate: true",
                details={"candidates": alike},
            )
    values = _values(conn, body, None)
    conn.execute(insert(customers).values(code=body.code, created_at=write.now, **values))
    customer_id = id_of(conn, customers, C.code, body.code, "customer")
    audit.record(
        conn, "customer", body.code, "created", write.user.id, write.now,
        after=_audited(conn, customer_id),
    )  # fmt: skip
    return fields.visible("customer", _detail(conn, body.code), write.user)


def _values(conn: Connection, body: CustomerFields, customer_id: int | None) -> dict[str, Any]:
    """The columns ``body`` sets, with the owner and parent looked up by name and code."""
    values = body.model_dump(exclude={"owner", "parent", "code", "allow_duplicate"})
    values["name_key"] = name_key(body.name)
    values["owner_id"] = None
    if body.owner is not None:
        owner = conn.execute(
            select(users.c.id).where(users.c.name == body.owner, users.c.active.is_(True))
        ).first()
        if owner is None:
            raise Invalid("unknown_user", f"no active user {body.owner!r}", "owner")
        values["owner_id"] = owner.id
    values["parent_id"] = None
    if body.parent is not None:
        parent_id = conn.execute(select(C.id).where(C.code == body.parent)).scalar_one_or_none()
        if parent_id is None:
            raise Invalid("unknown_customer", f"no customer {body.parent!r}", "parent")
        accounts.check_parent(conn, customer_id, parent_id)
        values["parent_id"] = parent_id
    return values


def _matching(q: str) -> Any:
    """A code starting with ``q`` (any case), or a folded name with a word starting with
    ``q`` folded ("hydr" finds "Müller Hydraulik GmbH"). No index of its own: the list walks
    the code index and stops at a page's worth of matches."""
    text, key = _like(q.strip()), _like(name_key(q))
    return or_(
        C.code.ilike(f"{text}%", escape="\\"),
        C.name_key.like(f"{key}%", escape="\\"),
        C.name_key.like(f"% {key}%", escape="\\"),
    )


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


PARENT = customers.alias("parent")


def _listed() -> Any:
    return (
        select(
            C.id,
            C.code,
            C.name,
            C.tax_id,
            C.email,
            C.phone,
            C.address,
            C.credit_limit_cents,
            C.payment_terms_days,
            C.territory,
            C.tier,
            users.c.name.label("owner"),
            PARENT.c.code.label("parent"),
            C.created_at,
        )
        .outerjoin(users, users.c.id == C.owner_id)
        .outerjoin(PARENT, PARENT.c.id == C.parent_id)
    )


def _audited(conn: Connection, customer_id: int) -> dict[str, Any]:
    row = conn.execute(_listed().where(C.id == customer_id)).one()
    return record(row, drop=("id", "created_at"))


def _detail(conn: Connection, code: str) -> dict[str, Any]:
    row = get(conn, _listed().where(C.code == code), "customer", code)
    people = conn.execute(select(contacts).where(K.customer_id == row.id).order_by(K.id))
    return {
        **record(row, drop=("id",)),
        "exposure_cents": exposure_cents(conn, row.id),
        "contacts": dicts(people, drop=("customer_id",)),
        "group": accounts.group(conn, row.id),
    }
