"""Repair orders (in the shop or in the field) with parts, labour and costs; technicians.

What a repair may do is the domain's (central.aftersales.repairs); this module takes the
request, checks who may and answers the repair as it is afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import Connection, delete, insert, select, update

from central.aftersales import repairs
from central.api.deps import MAX_ID, Db, Paged, Write, page_of, writer
from central.api.rows import (
    MAX_TEXT,
    Body,
    Code,
    CodeInPath,
    Instant,
    get,
    record,
    refuse_duplicate,
)
from central.auth import SERVICE
from central.db.aftersales import repair_labour, repair_orders, technicians
from central.orders.errors import Conflict
from central.orders.inventory import STORES

router = APIRouter(tags=["service"])
ServiceWrite = Annotated[Write, Depends(writer(SERVICE))]
E = technicians.c

Kind = Literal["in_shop", "field"]
Status = Literal["open", "assigned", "in_progress", "done", "closed", "cancelled"]


class RepairFields(Body):
    kind: Kind
    fault: str = Field(
        min_length=1, max_length=MAX_TEXT, description="what the customer says is wrong"
    )
    item: Code | None = Field(None, description="default: the ticket's, or the shipped lot's")
    lot: str | None = Field(None, min_length=1, max_length=64, description="lot or serial")
    required_skills: list[Code] = Field([], max_length=100)
    site_address: str | None = Field(
        None, max_length=2000, description="field: default the customer's address"
    )
    territory: Code | None = Field(None, description="field: default the customer's territory")
    scheduled_for: Instant | None = Field(
        None, description="with its offset; when the technician is expected on site"
    )


class NewRepair(RepairFields):
    customer: Code


class Assignment(Body):
    technician: Code | None = Field(None, description="default: the least loaded qualified one")


class Done(Body):
    diagnosis: str = Field(min_length=1, max_length=MAX_TEXT)


class Closing(Body):
    satisfaction: int | None = Field(None, ge=1, le=5)
    feedback: str | None = Field(None, max_length=MAX_TEXT)


class NewPart(Body):
    item: Code
    lot: str | None = Field(None, min_length=1, max_length=64, description="tracked items")
    location: Code = STORES
    quantity: float = Field(gt=0, le=1e9)


class NewLabour(Body):
    technician: Code | None = Field(None, description="default: the assigned technician")
    hours: float = Field(gt=0, le=10_000)
    note: str | None = Field(None, max_length=MAX_TEXT)


class TechnicianFields(Body):
    name: str = Field(min_length=1, max_length=200)
    skills: list[Code] = Field([], max_length=100)
    territory: Code | None = Field(None, description="none: works in the shop only")
    hourly_rate_cents: int = Field(ge=0, le=MAX_ID)
    active: bool = True


class NewTechnician(TechnicianFields):
    code: Code


# -- repair orders -----------------------------------------------------------------------------


@router.get("/repair-orders")
def list_repair_orders(
    db: Db,
    page: Paged,
    status: Annotated[list[Status] | None, Query()] = None,
    technician: Annotated[str | None, Query(max_length=64)] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[Kind | None, Query()] = None,
) -> dict[str, Any]:
    """Repair orders by number."""
    with db.connect() as conn:
        rows = repairs.list_repairs(
            conn,
            limit=page.limit + 1,
            after=page.after,
            status=status or (),
            technician=technician,
            customer=customer,
            kind=kind,
        )
    return page_of(rows, page, "number")


@router.post("/repair-orders", status_code=201)
def create_repair_order(body: NewRepair, write: ServiceWrite) -> dict[str, Any]:
    """A repair order for a customer's unit, its warranty checked against its shipment."""

    def work(conn: Connection) -> dict[str, Any]:
        number = repairs.create(conn, now=write.now, **body.model_dump())
        return repairs.detail(conn, number)

    return write(work)


@router.post("/tickets/{number}/repair-orders", status_code=201)
def repair_ticket(number: CodeInPath, body: RepairFields, write: ServiceWrite) -> dict[str, Any]:
    """A repair order for the ticket's customer, item and lot or serial (unless given)."""

    def work(conn: Connection) -> dict[str, Any]:
        made = repairs.create(conn, now=write.now, ticket=number, **body.model_dump())
        return repairs.detail(conn, made)

    return write(work)


@router.get("/repair-orders/{number}")
def repair_order(number: CodeInPath, db: Db) -> dict[str, Any]:
    """The repair with ticket, customer, unit, warranty, technician, parts, labour, costs,
    feedback and the unit's genealogy."""
    with db.connect() as conn:
        return repairs.detail(conn, number)


def _change(
    write: Write, number: str, change: Callable[..., object], *args: Any, **kwargs: Any
) -> Any:
    """``change(conn, number, *args, **kwargs)``, then the repair as it is afterwards."""

    def work(conn: Connection) -> dict[str, Any]:
        change(conn, number, *args, **kwargs)
        return repairs.detail(conn, number)

    return write(work)


@router.post("/repair-orders/{number}/assign")
def assign(number: CodeInPath, write: ServiceWrite, body: Assignment | None = None) -> Any:
    """The technician named, or the qualified one with the fewest open repairs."""
    technician = body.technician if body is not None else None
    return _change(write, number, repairs.assign, technician)


@router.post("/repair-orders/{number}/start")
def start(number: CodeInPath, write: ServiceWrite) -> Any:
    return _change(write, number, repairs.start)


@router.post("/repair-orders/{number}/done")
def done(number: CodeInPath, body: Done, write: ServiceWrite) -> Any:
    return _change(write, number, repairs.done, body.diagnosis)


@router.post("/repair-orders/{number}/close")
def close(number: CodeInPath, write: ServiceWrite, body: Closing | None = None) -> Any:
    body = body or Closing()
    return _change(write, number, repairs.close, write.now, **body.model_dump())


@router.post("/repair-orders/{number}/cancel")
def cancel(number: CodeInPath, write: ServiceWrite) -> Any:
    return _change(write, number, repairs.cancel, write.now)


@router.post("/repair-orders/{number}/parts", status_code=201)
def add_part(number: CodeInPath, body: NewPart, write: ServiceWrite) -> Any:
    """Parts out of stock for the repair; answers the repair with its costs."""
    return _change(write, number, repairs.add_part, now=write.now, **body.model_dump())


@router.post("/repair-orders/{number}/labour", status_code=201)
def add_labour(number: CodeInPath, body: NewLabour, write: ServiceWrite) -> Any:
    """Hours worked, at the technician's rate; answers the repair with its costs."""
    return _change(write, number, repairs.add_labour, now=write.now, **body.model_dump())


# -- technicians ----------------------------------------------------------------------------------


@router.get("/technicians")
def list_technicians(
    db: Db,
    page: Paged,
    territory: Annotated[str | None, Query(max_length=64)] = None,
    active: Annotated[bool | None, Query()] = None,
) -> dict[str, Any]:
    """Technicians by code, with how many repairs each has assigned or in progress."""
    query = select(technicians).order_by(E.code).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(E.code > page.after)
    if territory is not None:
        query = query.where(E.territory == territory)
    if active is not None:
        query = query.where(E.active.is_(active))
    with db.connect() as conn:
        rows = conn.execute(query).all()
        busy = repairs.load(conn, [r.id for r in rows])
    listed = [{**record(r, drop=("id",)), "open_repairs": busy.get(r.id, 0)} for r in rows]
    return page_of(listed, page, "code")


@router.post("/technicians", status_code=201)
def create_technician(body: NewTechnician, write: ServiceWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        refuse_duplicate(conn, E.code, body.code, "technician")
        conn.execute(insert(technicians).values(**_fields(body)))
        return _technician(conn, body.code)

    return write(work)


@router.get("/technicians/{code}")
def technician(code: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return _technician(conn, code)


@router.put("/technicians/{code}")
def replace_technician(
    code: CodeInPath, body: TechnicianFields, write: ServiceWrite
) -> dict[str, Any]:
    """Replace its fields; repairs assigned already stay assigned, labour keeps its rate."""

    def work(conn: Connection) -> dict[str, Any]:
        _technician(conn, code)
        conn.execute(update(technicians).where(E.code == code).values(**_fields(body)))
        return _technician(conn, code)

    return write(work)


@router.delete("/technicians/{code}", status_code=204)
def delete_technician(code: CodeInPath, write: ServiceWrite) -> None:
    """Only one who never had a repair; deactivate the others (``active: false``)."""

    def work(conn: Connection) -> None:
        found = get(conn, select(E.id).where(E.code == code), "technician", code)
        used = conn.execute(
            select(repair_orders.c.id)
            .where(repair_orders.c.technician_id == found.id)
            .union_all(select(repair_labour.c.id).where(repair_labour.c.technician_id == found.id))
            .limit(1)
        ).first()
        if used is not None:
            raise Conflict("in_use", f"technician {code} has repairs: set active to false instead")
        conn.execute(delete(technicians).where(E.id == found.id))

    write(work)


def _fields(body: TechnicianFields) -> dict[str, Any]:
    return {**body.model_dump(), "skills": list(dict.fromkeys(body.skills))}


def _technician(conn: Connection, code: str) -> dict[str, Any]:
    row = get(conn, select(technicians).where(E.code == code), "technician", code)
    return {
        **record(row, drop=("id",)),
        "open_repairs": repairs.load(conn, [row.id]).get(row.id, 0),
    }
