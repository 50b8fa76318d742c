"""Stock on hand by item, lot / serial and location; every change is a move in the ledger.

A lot-tracked item's stock is kept per lot, a serial-tracked one per serial number (one
piece each), an untracked one under the lot ``""``. Locations are codes: ``STORES`` for
bought material, ``FG`` for finished goods, ``WIP`` for what the floor has taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from central.db.bulk import insert_rows
from central.db.domain import reservations, stock, stock_moves
from central.db.upsert import upsert

STORES, FINISHED_GOODS = "STORES", "FG"


@dataclass(frozen=True)
class Move:
    item_id: int
    lot: str
    quantity: float
    reason: str
    reference: str
    from_location: str | None = None
    to_location: str | None = None


def book(conn: Connection, moves: list[Move], at: datetime) -> None:
    """Record moves in the ledger and change stock on hand accordingly, in one go."""
    if not moves:
        return
    insert_rows(
        conn,
        stock_moves,
        [
            {
                "item_id": m.item_id,
                "lot": m.lot,
                "from_location": m.from_location,
                "to_location": m.to_location,
                "quantity": m.quantity,
                "reason": m.reason,
                "reference": m.reference,
                "at": at,
            }
            for m in moves
        ],
    )
    changes: dict[tuple[int, str, str], float] = {}
    for m in moves:
        if m.from_location is not None:
            key = (m.item_id, m.lot, m.from_location)
            changes[key] = changes.get(key, 0.0) - m.quantity
        if m.to_location is not None:
            key = (m.item_id, m.lot, m.to_location)
            changes[key] = changes.get(key, 0.0) + m.quantity
    rows = [
        {"item_id": item, "lot": lot, "location": where, "quantity": qty}
        for (item, lot, where), qty in sorted(changes.items())
    ]
    upsert(conn, stock, rows, add=("quantity",))


def available(conn: Connection, item_id: int, location: str = STORES) -> list[tuple[str, float]]:
    """(lot, quantity) on hand and not reserved, oldest lot first (first in, first out)."""
    reserved = dict(
        conn.execute(
            select(reservations.c.lot, func.sum(reservations.c.quantity))
            .where(reservations.c.item_id == item_id, reservations.c.location == location)
            .group_by(reservations.c.lot)
        ).all()
    )
    on_hand = conn.execute(
        select(stock.c.lot, stock.c.quantity)
        .where(stock.c.item_id == item_id, stock.c.location == location, stock.c.quantity > 0)
        .order_by(stock.c.lot)
    ).all()
    free = [(lot, qty - float(reserved.get(lot, 0.0))) for lot, qty in on_hand]
    return [(lot, qty) for lot, qty in free if qty > 1e-9]


def on_hand(conn: Connection, item_id: int, location: str | None = None) -> float:
    query = select(func.coalesce(func.sum(stock.c.quantity), 0.0)).where(stock.c.item_id == item_id)
    if location is not None:
        query = query.where(stock.c.location == location)
    return float(conn.execute(query).scalar_one())


def take_reserved(conn: Connection, rows: list[Any], quantity: float) -> list[tuple[Any, float]]:
    """Take ``quantity`` off reservation ``rows`` in their order: (row, taken) per row used."""
    taken = plan_take(rows, quantity)
    release(conn, taken)
    return taken


def plan_take(rows: list[Any], quantity: float) -> list[tuple[Any, float]]:
    """Which of ``rows`` (reservations, in the order to use them) give ``quantity``."""
    taken: list[tuple[Any, float]] = []
    left = quantity
    for row in rows:
        if left <= 1e-9:
            break
        take = min(row.quantity, left)
        left -= take
        taken.append((row, take))
    return taken


_SHRINK = (
    update(reservations)
    .where(reservations.c.id == bindparam("rid"))
    .values(quantity=reservations.c.quantity - bindparam("taken"))
)


def release(conn: Connection, taken: list[tuple[Any, float]]) -> None:
    """Take planned amounts off their reservations: used up ones go, in two statements."""
    gone = [row.id for row, take in taken if take >= row.quantity - 1e-9]
    shrunk = [{"rid": row.id, "taken": take} for row, take in taken if take < row.quantity - 1e-9]
    if gone:
        conn.execute(delete(reservations).where(reservations.c.id.in_(gone)))
    if shrunk:
        conn.execute(_SHRINK, shrunk)
