"""What tickets and repair orders check and change alike: status moves, ratings, codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ScalarSelect, Table, select, update

from central.db.rows import get
from central.orders.errors import Conflict, Invalid

__all__ = ["Numbered", "check_rating", "code_id", "id_of_code", "one_of"]


@dataclass(frozen=True)
class Numbered:
    """A table of rows known by ``number`` that move from status to status."""

    table: Table
    what: str  # as messages name a row: "ticket", "repair order"

    def locked(self, conn: Connection, number: str) -> Any:
        """The row numbered ``number`` (404 without one), locked until the transaction ends:
        two changes to one row at once would each check the status the other changes."""
        query = select(self.table).where(self.table.c.number == number).with_for_update()
        return get(conn, query, self.what, number)

    def check_status(self, row: Any, to: str, allowed: Sequence[str]) -> None:
        if row.status not in allowed:
            raise Conflict(
                "wrong_status",
                f"{self.what} {row.number} is {row.status}; "
                f"it becomes {to} only from {' or '.join(allowed)}",
            )

    def move(
        self, conn: Connection, number: str, to: str, allowed: Sequence[str], **values: Any
    ) -> None:
        """To status ``to`` (409 unless it is one of ``allowed``), setting ``values`` too."""
        row = self.locked(conn, number)
        self.check_status(row, to, allowed)
        self.change(conn, row, status=to, **values)

    def close(
        self,
        conn: Connection,
        number: str,
        allowed: Sequence[str],
        now: datetime,
        satisfaction: int | None,
        feedback: str | None,
    ) -> None:
        """Closed with the customer's rating (1-5) and feedback, if they gave it."""
        row = self.locked(conn, number)
        self.check_status(row, "closed", allowed)
        check_rating(satisfaction)
        self.change(
            conn, row, status="closed", closed_at=now, satisfaction=satisfaction, feedback=feedback
        )

    def change(self, conn: Connection, row: Any, **values: Any) -> None:
        conn.execute(update(self.table).where(self.table.c.id == row.id).values(**values))


def check_rating(satisfaction: int | None) -> None:
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise Invalid("invalid_satisfaction", "satisfaction is 1 to 5", "satisfaction")


def one_of(value: str, allowed: Sequence[str], field: str) -> None:
    if value not in allowed:
        raise Invalid(
            f"invalid_{field}", f"{field} {value!r} is none of {', '.join(allowed)}", field
        )


def code_id(conn: Connection, table: Table, code: str, what: str) -> int:
    """The id of ``table``'s row with ``code``; 422 naming the field ``what`` without one."""
    found = conn.execute(select(table.c.id).where(table.c.code == code)).scalar_one_or_none()
    if found is None:
        raise Invalid(f"unknown_{what}", f"no {what} {code!r}", what)
    return int(found)


def id_of_code(table: Table, code: str) -> ScalarSelect[Any]:
    """The id of ``table``'s row with ``code``, as a subquery to filter a list by."""
    return select(table.c.id).where(table.c.code == code).scalar_subquery()
