"""Small pieces the resource routers share: codes, lookups by code, rows as JSON-able dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Column, Connection, Table, select

from central.db.rows import dicts, get, record
from central.orders.errors import Conflict, Invalid
from protocols.contract.events import Code

__all__ = [
    "Body",
    "Code",
    "CodeInPath",
    "Instant",
    "codes_to_ids",
    "dicts",
    "exists",
    "get",
    "id_of",
    "record",
    "refuse_duplicate",
]


def _plausible(moment: datetime) -> datetime:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"a time between {FIRST_YEAR} and {LAST_YEAR}")
    return moment


FIRST_YEAR, LAST_YEAR = 1971, 9000
# A moment with its UTC offset in years the database and time arithmetic can hold.
Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]

# Pieces on an order, line or shipment: a billion is past any order a plant takes, and
# keeps what is computed from it (run minutes, cents, material) finite. The schema fuzz
# once sent 10**12 and more; serial-tracked orders have a far lower domain bound.
MAX_QUANTITY = 1e9
Quantity = Annotated[float, Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False)]
# Lines in one body (order, shipment, BOM, routing): a long engineered order has a few
# hundred; each line is rows written and checked in one transaction.
MAX_LINES = 500
# A free text (a fault, a diagnosis, a reply): about ten pages.
MAX_TEXT = 20_000

# Codes travel to the floor in dispatch lists, so bodies use the contract's Code.
CodeInPath = Annotated[str, Path(min_length=1, max_length=64)]


class Body(BaseModel):
    """A request body: unknown fields are refused by name, so a typo is not ignored."""

    model_config = ConfigDict(extra="forbid")


def id_of(conn: Connection, table: Table, column: Column[Any], value: object, what: str) -> int:
    """The id of the row whose ``column`` is ``value``, or 404."""
    row = get(conn, select(table.c.id).where(column == value), what, value)
    return int(row.id)


def exists(conn: Connection, column: Column[Any], value: object) -> bool:
    return conn.execute(select(column).where(column == value).limit(1)).first() is not None


def refuse_duplicate(conn: Connection, column: Column[Any], value: object, what: str) -> None:
    if exists(conn, column, value):
        raise Conflict("exists", f"{what} {value!r} exists", column.name)


def codes_to_ids(
    conn: Connection, table: Table, codes: list[str], what: str, field: str
) -> dict[str, int]:
    """Ids of ``table`` rows by code, in one query; 422 naming the field of an unknown one.

    ``field`` is a format string with ``{i}``, the index of the code in ``codes``.
    """
    found: dict[str, int] = dict(
        conn.execute(select(table.c.code, table.c.id).where(table.c.code.in_(set(codes)))).all()
    )
    for i, code in enumerate(codes):
        if code not in found:
            raise Invalid(
                f"unknown_{what.replace(' ', '_')}", f"no {what} {code!r}", field.format(i=i)
            )
    return found
