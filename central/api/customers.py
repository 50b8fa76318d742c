"""Customers and their contacts; the credit a customer has used, as confirming counts it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import Connection, insert, select, update

from central.api.deps import Db, Paged, PagedById, Write, page_of, writer
from central.api.errors import Forbidden
from central.api.rows import Body, Code, CodeInPath, dicts, get, id_of, record, refuse_duplicate
from central.auth import CREDIT_OVERRIDE, SALES
from central.db.domain import contacts, customers
from central.orders.sales import exposure_cents

router = APIRouter(tags=["customers"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
C = customers.c


class CustomerFields(Body):
    name: str = Field(min_length=1, max_length=200)
    tax_id: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    address: str | None = None
    credit_limit_cents: int | None = Field(None, ge=0, description="none: no limit")
    payment_terms_days: int = Field(30, ge=0, le=3650)
    territory: Code | None = Field(None, description="where field service comes from")


class NewCustomer(CustomerFields):
    code: Code


class NewContact(Body):
    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)


@router.get("/customers")
def list_customers(db: Db, page: Paged) -> dict[str, Any]:
    """Customers by code."""
    query = select(customers).order_by(C.code).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(C.code > page.after)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query), drop=("id",)), page, "code")


@router.post("/customers", status_code=201)
def create_customer(body: NewCustomer, write: SalesWrite) -> dict[str, Any]:
    return write(lambda conn: _create(conn, body, write.now))


@router.get("/customers/{code}")
def customer(code: CodeInPath, db: Db) -> dict[str, Any]:
    """A customer with contacts and the credit exposure a confirmation would count."""
    with db.connect() as conn:
        return _detail(conn, code)


@router.put("/customers/{code}")
def replace_customer(code: CodeInPath, body: CustomerFields, write: SalesWrite) -> dict[str, Any]:
    """Replace the customer's fields. The credit limit is kept when the body leaves it out,
    and only those who may override credit (admin) may change it: otherwise lifting a
    held order's limit would be the override sales may not make."""

    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        values = body.model_dump()
        if "credit_limit_cents" not in body.model_fields_set:
            del values["credit_limit_cents"]
        else:
            current = conn.execute(
                select(C.credit_limit_cents).where(C.id == customer_id)
            ).scalar_one()
            if values["credit_limit_cents"] != current and not write.user.may(CREDIT_OVERRIDE):
                raise Forbidden("changing credit_limit_cents", CREDIT_OVERRIDE)
        conn.execute(update(customers).where(C.id == customer_id).values(**values))
        return _detail(conn, code)

    return write(work)


@router.get("/customers/{code}/contacts")
def list_contacts(code: CodeInPath, db: Db, page: PagedById) -> dict[str, Any]:
    with db.connect() as conn:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        query = (
            select(contacts)
            .where(contacts.c.customer_id == customer_id)
            .order_by(contacts.c.id)
            .limit(page.limit + 1)
        )
        if page.after is not None:
            query = query.where(contacts.c.id > page.after)
        return page_of(dicts(conn.execute(query), drop=("customer_id",)), page, "id")


@router.post("/customers/{code}/contacts", status_code=201)
def add_contact(code: CodeInPath, body: NewContact, write: SalesWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        result = conn.execute(insert(contacts).values(customer_id=customer_id, **body.model_dump()))
        return {"id": result.inserted_primary_key[0], **body.model_dump()}  # type: ignore[index]

    return write(work)


def _create(conn: Connection, body: NewCustomer, now: datetime) -> dict[str, Any]:
    refuse_duplicate(conn, C.code, body.code, "customer")
    conn.execute(insert(customers).values(**body.model_dump(), created_at=now))
    return _detail(conn, body.code)


def _detail(conn: Connection, code: str) -> dict[str, Any]:
    row = get(conn, select(customers).where(C.code == code), "customer", code)
    people = conn.execute(
        select(contacts).where(contacts.c.customer_id == row.id).order_by(contacts.c.id)
    )
    return {
        **record(row, drop=("id",)),
        "exposure_cents": exposure_cents(conn, row.id),
        "contacts": dicts(people, drop=("customer_id",)),
    }
