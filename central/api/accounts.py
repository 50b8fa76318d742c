"""The account around a customer: its timeline of interactions and documents, the buying
decision map, tags, merging a duplicate away, and the audit history of any record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from sqlalchemy import Connection, insert, select

from central.api.deps import MAX_ID, MAX_LIMIT, CurrentUser, Db, Write, writer
from central.api.rows import Body, Code, CodeInPath, Instant, id_of
from central.auth import SALES, SERVICE
from central.crm import accounts, audit, fields, timeline
from central.db.crm import AUDITED, interactions
from central.db.domain import contacts, customers
from central.orders.errors import Invalid

router = APIRouter(tags=["customers"])
# sales and service both talk to customers: either may log what was said
ContactWrite = Annotated[Write, Depends(writer(tuple(dict.fromkeys(SALES + SERVICE))))]
SalesWrite = Annotated[Write, Depends(writer(SALES))]
AdminWrite = Annotated[Write, Depends(writer(("admin",)))]
C = customers.c
NEXT = "the page before's next"
SOURCES = f"only these: {', '.join(timeline.NAMES)}"


class NewInteraction(Body):
    kind: Literal["call", "visit", "email", "meeting", "note"]
    subject: str = Field(min_length=1, max_length=200)
    body: str | None = Field(None, max_length=20_000)
    direction: Literal["in", "out"] | None = None
    at: Instant | None = Field(None, description="when it happened; default now")
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)


class NewAddress(Body):
    kind: Literal["billing", "shipping", "site"]
    label: str | None = Field(None, max_length=64, description='"Plant 2", "Head office"')
    street: str = Field(min_length=1, max_length=200)
    postcode: str | None = Field(None, max_length=16)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. DE")
    is_default: bool = Field(False, description="the one used for its kind unless told")


class Tags(Body):
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(max_length=50)


class Merge(Body):
    into: Code = Field(description="the customer that stays")


@router.get("/customers/{code}/timeline")
def customer_timeline(
    code: CodeInPath,
    db: Db,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[
        str | None, Query(max_length=100, description="the page before's next")
    ] = None,
    source: Annotated[
        list[str] | None, Query(description=f"only these: {', '.join(timeline.NAMES)}")
    ] = None,
) -> dict[str, Any]:
    """Every interaction and document of the customer, newest first."""
    unknown = sorted(set(source or ()) - set(timeline.NAMES))
    if unknown:
        raise Invalid("unknown_source", f"no timeline source {', '.join(unknown)}", "source")
    with db.connect() as conn:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        found = timeline.timeline(
            conn, customer_id, limit=limit, after=after, kinds=set(source) if source else None
        )
    return fields.visible("timeline", found, user)


@router.post("/customers/{code}/interactions", status_code=201)
def log_interaction(code: CodeInPath, body: NewInteraction, write: ContactWrite) -> dict[str, Any]:
    """A call, visit, email, meeting or note, on the customer's timeline."""
    if body.kind == "note" and body.direction is not None:
        raise Invalid("note_direction", "a note goes nowhere: leave direction out", "direction")

    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        if body.contact_id is not None:
            found = conn.execute(
                select(contacts.c.id).where(
                    contacts.c.id == body.contact_id, contacts.c.customer_id == customer_id
                )
            ).first()
            if found is None:
                raise Invalid(
                    "unknown_contact", f"no contact {body.contact_id} of {code}", "contact_id"
                )
        values = {**body.model_dump(), "at": body.at or write.now}
        result = conn.execute(
            insert(interactions).values(customer_id=customer_id, user_id=write.user.id, **values)
        )
        return {"id": result.inserted_primary_key[0], "customer": code, **values}  # type: ignore[index]

    return write(work)


@router.get("/customers/{code}/addresses")
def list_addresses(code: CodeInPath, db: Db) -> dict[str, Any]:
    """The account's billing, shipping and site addresses, defaults first per kind."""
    with db.connect() as conn:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        return {"items": accounts.addresses(conn, customer_id)}


@router.post("/customers/{code}/addresses", status_code=201)
def add_address(code: CodeInPath, body: NewAddress, write: SalesWrite) -> dict[str, Any]:
    """A new address; a default one takes the place of the kind's previous default."""

    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        made = accounts.add_address(conn, customer_id, body.model_dump())
        audit.record(
            conn, "customer", code, "address_added", write.user.id, write.now,
            after={"address": made},
        )  # fmt: skip
        return made

    return write(work)


@router.delete("/customers/{code}/addresses/{address_id}", status_code=204)
def remove_address(
    code: CodeInPath, address_id: Annotated[int, Path(ge=1, le=MAX_ID)], write: SalesWrite
) -> None:
    def work(conn: Connection) -> None:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        gone = accounts.remove_address(conn, customer_id, address_id)
        audit.record(
            conn, "customer", code, "address_removed", write.user.id, write.now,
            before={"address": gone},
        )  # fmt: skip

    write(work)


@router.get("/customers/{code}/decision-map")
def decision_map(code: CodeInPath, db: Db) -> dict[str, Any]:
    """The account's contacts by buying role, and who reports to whom."""
    with db.connect() as conn:
        return accounts.decision_map(conn, id_of(conn, customers, C.code, code, "customer"))


@router.get("/customers/{code}/tags")
def customer_tags(code: CodeInPath, db: Db) -> dict[str, Any]:
    """Tags set by hand, and those the rules give now."""
    with db.connect() as conn:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        return accounts.tags(conn, customer_id, datetime.now(UTC))


@router.put("/customers/{code}/tags")
def set_tags(code: CodeInPath, body: Tags, write: SalesWrite) -> dict[str, Any]:
    """Replace the tags set by hand (rule tags are not set by hand: 422 ``rule_tag``)."""

    def work(conn: Connection) -> dict[str, Any]:
        customer_id = id_of(conn, customers, C.code, code, "customer")
        before = accounts.set_tags(conn, customer_id, body.tags, write.user.id, write.now)
        after = accounts.tags(conn, customer_id, write.now)
        audit.record(
            conn, "customer", code, "tagged", write.user.id, write.now,
            before={"tags": before}, after={"tags": after["manual"]},
        )  # fmt: skip
        return after

    return write(work)


@router.post("/customers/{code}/merge")
def merge(code: CodeInPath, body: Merge, write: AdminWrite) -> dict[str, Any]:
    """Merge this customer into ``into``: its orders, contacts, tickets, ... move, it goes."""

    def work(conn: Connection) -> dict[str, Any]:
        moved = accounts.merge(conn, code, body.into)
        audit.record(
            conn, "customer", body.into, "merged", write.user.id, write.now,
            after={"merged_from": code, "moved": moved},
        )  # fmt: skip
        audit.record(
            conn, "customer", code, "merged_away", write.user.id, write.now,
            after={"merged_into": body.into},
        )  # fmt: skip
        return {"merged": code, "into": body.into, "moved": moved}

    return write(work)


@router.get("/history/{entity}/{key}")
def history(
    entity: Annotated[str, Path(description=", ".join(AUDITED))],
    key: Annotated[str, Path(min_length=1, max_length=64)],
    db: Db,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    after: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the page before's next")
    ] = None,
) -> dict[str, Any]:
    """Every recorded change of one record, newest first: who, when, fields before and after."""
    with db.connect() as conn:
        items = audit.history(conn, entity, key, limit=limit + 1, before_id=after)
    more = len(items) > limit
    items = [fields.visible_changes(entity, item, user) for item in items[:limit]]
    return {"items": items, "next": items[-1]["id"] if more and items else None}
