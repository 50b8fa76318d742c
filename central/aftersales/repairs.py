"""Repair orders: a unit repaired in the shop or in the field, its warranty, parts and labour.

    open -> assigned -> in_progress -> done -> closed
    open or assigned -> cancelled      assigned -> assigned (another technician)

A repair is about one unit: a serial, or the lot it came from. Its warranty is checked
when the order is made: the first shipment of that lot or serial to the customer, plus
the item's ``warranty_months`` (calendar months); a unit never shipped to them is not
under warranty. Under warranty the customer is charged nothing.

A field repair needs a site address and a territory (both default to the customer's).
A technician qualifies for a repair with every required skill, being active and, for a
field repair, working in its territory; assigned automatically, the qualified one with
the fewest repairs assigned or in progress gets it (then by code).

Parts leave stock through the inventory ledger (reason ``consumption``, reference the
repair's number) at the item's price; labour is costed at the technician's rate.
"""

from __future__ import annotations

import calendar
import contextlib
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select

from central.aftersales.checks import Numbered, check_rating, code_id, id_of_code, one_of
from central.aftersales.genealogy import backward
from central.aftersales.tickets import shipped_item
from central.db.aftersales import (
    REPAIR_KINDS,
    repair_labour,
    repair_orders,
    repair_parts,
    service_tickets,
    technicians,
)
from central.db.domain import customers, items, stock
from central.db.rows import dicts, get, record
from central.orders import inventory
from central.orders.errors import Conflict, Invalid, NotFound
from central.orders.numbers import next_number

__all__ = [
    "BUSY",
    "add_labour",
    "add_months",
    "add_part",
    "assign",
    "cancel",
    "close",
    "create",
    "detail",
    "done",
    "list_repairs",
    "load",
    "start",
]

BUSY = ("assigned", "in_progress")  # what counts toward a technician's load
WORKING = ("open", "assigned", "in_progress")  # parts and labour may be booked
R, P, L, E = repair_orders.c, repair_parts.c, repair_labour.c, technicians.c
REPAIRS = Numbered(repair_orders, "repair order")


def add_months(at: datetime, months: int) -> datetime:
    """``at`` plus calendar months; the 31st lands on the last day of a shorter month."""
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))


def create(
    conn: Connection,
    *,
    kind: str,
    fault: str,
    now: datetime,
    customer: str | None = None,
    ticket: str | None = None,
    item: str | None = None,
    lot: str | None = None,
    required_skills: Sequence[str] = (),
    site_address: str | None = None,
    territory: str | None = None,
    scheduled_for: datetime | None = None,
) -> str:
    """A repair order, standalone for ``customer`` or from ``ticket`` (its customer, item and
    lot unless given); returns its number."""
    one_of(kind, REPAIR_KINDS, "kind")
    if not fault.strip():
        raise Invalid("fault_required", "say what is wrong with the unit", "fault")
    ticket_id = None
    if ticket is not None:
        found = get(
            conn,
            select(service_tickets).where(service_tickets.c.number == ticket),
            "ticket",
            ticket,
        )
        if found.status == "closed":
            raise Conflict("ticket_closed", f"ticket {ticket} is closed")
        ticket_id, customer_id = found.id, found.customer_id
        lot = lot or found.lot
        item_id = code_id(conn, items, item, "item") if item is not None else found.item_id
    else:
        if customer is None:
            raise Invalid(
                "customer_required", "name the customer (or open it from a ticket)", "customer"
            )
        customer_id = code_id(conn, customers, customer, "customer")
        item_id = code_id(conn, items, item, "item") if item is not None else None
    cust = conn.execute(select(customers).where(customers.c.id == customer_id)).one()
    lot = lot or None
    shipped = shipped_item(conn, customer_id, lot, item_id) if lot else None
    if item_id is None:
        if shipped is None:
            raise Invalid("item_required", "name the item of the unit repaired", "item")
        item_id = shipped.item_id
    if kind == "field":
        site_address = site_address or cust.address
        territory = territory or cust.territory
        if not site_address:
            raise Invalid(
                "site_address_required",
                f"a field repair needs a site address (customer {cust.code} has none)",
                "site_address",
            )
        if not territory:
            raise Invalid(
                "territory_required",
                f"a field repair needs a territory (customer {cust.code} has none)",
                "territory",
            )
    elif site_address is not None or territory is not None:
        field = "site_address" if site_address is not None else "territory"
        raise Invalid("not_field", f"an in-shop repair has no {field}", field)
    months = conn.execute(select(items.c.warranty_months).where(items.c.id == item_id)).scalar_one()
    shipped_at = shipped.shipped_at if shipped is not None else None
    until = add_months(shipped_at, months) if shipped_at is not None else None
    number = next_number(conn, "repair_order", now)
    conn.execute(
        insert(repair_orders).values(
            number=number,
            customer_id=customer_id,
            ticket_id=ticket_id,
            kind=kind,
            status="open",
            item_id=item_id,
            lot=lot,
            fault=fault,
            required_skills=list(dict.fromkeys(required_skills)),
            site_address=site_address,
            territory=territory,
            scheduled_for=scheduled_for,
            shipped_at=shipped_at,
            warranty_until=until,
            under_warranty=until is not None and now <= until,
            opened_at=now,
        )
    )
    return number


# -- technicians -------------------------------------------------------------------------------


def assign(conn: Connection, number: str, technician: str | None = None) -> str:
    """Assign ``technician`` (422 naming what it lacks) or, without one, the least loaded
    qualified one (409 ``no_technician``); returns the technician's code."""
    order = REPAIRS.locked(conn, number)
    REPAIRS.check_status(order, "assigned", ("open", "assigned"))
    if technician is not None:
        tech = conn.execute(select(technicians).where(E.code == technician)).one_or_none()
        if tech is None:
            raise Invalid("unknown_technician", f"no technician {technician!r}", "technician")
        problems = _unfit(tech, order)
        if problems:
            code, _ = problems[0]
            listed = "; ".join(why for _, why in problems)
            raise Invalid(code, f"technician {technician} {listed}", "technician")
    else:
        qualified = [
            t
            for t in conn.execute(select(technicians).where(E.active.is_(True)))
            if not _unfit(t, order)
        ]
        if not qualified:
            raise Conflict("no_technician", f"no active technician {_needs(order)}")
        busy = load(conn, [t.id for t in qualified], leave_out=order.id)
        tech = min(qualified, key=lambda t: (busy.get(t.id, 0), t.code))
    REPAIRS.change(conn, order, technician_id=tech.id, status="assigned")
    return str(tech.code)


def load(
    conn: Connection, technician_ids: Sequence[int], leave_out: int | None = None
) -> dict[int, int]:
    """Repairs assigned or in progress per technician."""
    query = (
        select(R.technician_id, func.count())
        .where(R.technician_id.in_(technician_ids), R.status.in_(BUSY))
        .group_by(R.technician_id)
    )
    if leave_out is not None:
        query = query.where(R.id != leave_out)
    return {int(t): int(n) for t, n in conn.execute(query)}


def _unfit(tech: Any, order: Any) -> list[tuple[str, str]]:
    """(code, why) for each reason ``tech`` cannot take ``order``; empty when it can."""
    problems = []
    missing = [s for s in order.required_skills if s not in tech.skills]
    if missing:
        problems.append(("missing_skills", f"lacks the skills {', '.join(missing)}"))
    if order.kind == "field" and tech.territory != order.territory:
        where = f"works in {tech.territory}" if tech.territory else "works in the shop only"
        problems.append(("wrong_territory", f"{where}, not in territory {order.territory}"))
    if not tech.active:
        problems.append(("inactive_technician", "is inactive"))
    return problems


def _needs(order: Any) -> str:
    skills = order.required_skills
    wanted = f"has the skills {', '.join(skills)}" if skills else "is available"
    return wanted + (f" in territory {order.territory}" if order.kind == "field" else "")


# -- status --------------------------------------------------------------------------------------


def start(conn: Connection, number: str) -> None:
    """The assigned technician starts on it."""
    REPAIRS.move(conn, number, "in_progress", ("assigned",))


def done(conn: Connection, number: str, diagnosis: str) -> None:
    """The work is done; the diagnosis says what was wrong."""
    if not diagnosis.strip():
        raise Invalid("diagnosis_required", "say what was wrong with the unit", "diagnosis")
    REPAIRS.move(conn, number, "done", ("in_progress",), diagnosis=diagnosis)


def close(
    conn: Connection,
    number: str,
    now: datetime,
    *,
    satisfaction: int | None = None,
    feedback: str | None = None,
) -> None:
    """Close a done repair with the customer's rating (1-5) and feedback, if they gave it."""
    check_rating(satisfaction)  # like a missing diagnosis, before the repair is looked up
    REPAIRS.close(conn, number, ("done",), now, satisfaction, feedback)


def cancel(conn: Connection, number: str, now: datetime) -> None:
    """Cancel a repair nobody has started on and no part was taken out of stock for
    (409 ``parts_used``: those parts are gone, so the repair is finished, not undone)."""
    order = REPAIRS.locked(conn, number)
    REPAIRS.check_status(order, "cancelled", ("open", "assigned"))
    if conn.execute(select(P.id).where(P.repair_order_id == order.id).limit(1)).first():
        raise Conflict(
            "parts_used", f"repair order {number} used parts: finish it (done, closed) instead"
        )
    REPAIRS.move(conn, number, "cancelled", ("open", "assigned"), closed_at=now)


# -- parts and labour ------------------------------------------------------------------------------


def add_part(
    conn: Connection,
    number: str,
    *,
    item: str,
    quantity: float,
    now: datetime,
    lot: str | None = None,
    location: str = inventory.STORES,
) -> dict[str, Any]:
    """Take a part out of stock for the repair (409 ``not_in_stock`` unless that much of it
    is on hand and not reserved there), costed at the item's price."""
    order = REPAIRS.locked(conn, number)
    _working(order)
    part = conn.execute(select(items).where(items.c.code == item)).one_or_none()
    if part is None:
        raise Invalid("unknown_item", f"no item {item!r}", "item")
    if not math.isfinite(quantity) or quantity <= 0:
        raise Invalid("invalid_quantity", "quantity must be positive", "quantity")
    if part.tracking == "none":
        if lot:
            raise Invalid("not_tracked", f"item {item} has no lots: leave lot out", "lot")
        lot = ""
    elif not lot:
        raise Invalid("lot_required", f"item {item} is tracked: name its {part.tracking}", "lot")
    # locked: two repairs taking the last piece at once would both find it free
    conn.execute(
        select(stock.c.quantity)
        .where(stock.c.item_id == part.id, stock.c.lot == lot, stock.c.location == location)
        .with_for_update()
    ).first()
    free = dict(inventory.available(conn, part.id, location)).get(lot, 0.0)
    if free < quantity - 1e-9:
        which = f"{item} {lot}" if lot else item
        raise Conflict("not_in_stock", f"{free:g} of {which} free at {location}, not {quantity:g}")
    move = inventory.Move(
        part.id, lot, quantity, "consumption", order.number, from_location=location
    )
    inventory.book(conn, [move], now)
    part_id = conn.execute(
        insert(repair_parts).values(
            repair_order_id=order.id,
            item_id=part.id,
            lot=lot,
            location=location,
            quantity=quantity,
            unit_cost_cents=part.price_cents,
            at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return _parts(conn, P.id == part_id)[0]


def add_labour(
    conn: Connection,
    number: str,
    *,
    hours: float,
    now: datetime,
    technician: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Hours worked on the repair by ``technician`` (default: the assigned one), at its rate."""
    order = REPAIRS.locked(conn, number)
    _working(order)
    if not math.isfinite(hours) or hours <= 0:
        raise Invalid("invalid_hours", "hours must be positive", "hours")
    if technician is None and order.technician_id is None:
        raise Invalid(
            "technician_required",
            f"repair order {number} has no technician yet: name who worked",
            "technician",
        )
    which = E.id == order.technician_id if technician is None else E.code == technician
    tech = conn.execute(select(technicians).where(which)).one_or_none()
    if tech is None:
        raise Invalid("unknown_technician", f"no technician {technician!r}", "technician")
    labour_id = conn.execute(
        insert(repair_labour).values(
            repair_order_id=order.id,
            technician_id=tech.id,
            hours=hours,
            rate_cents=tech.hourly_rate_cents,
            note=note,
            at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return _labour(conn, L.id == labour_id)[0]


def _working(order: Any) -> None:
    if order.status not in WORKING:
        raise Conflict(
            "wrong_status", f"repair order {order.number} is {order.status}: nothing more is booked"
        )


# -- reading ---------------------------------------------------------------------------------------


def _summary() -> Select[Any]:
    return (
        select(
            R.id,
            R.number,
            R.kind,
            R.status,
            customers.c.code.label("customer"),
            service_tickets.c.number.label("ticket"),
            items.c.code.label("item"),
            R.lot,
            E.code.label("technician"),
            R.territory,
            R.under_warranty,
            R.opened_at,
            R.closed_at,
        )
        .join(customers, customers.c.id == R.customer_id)
        .join(items, items.c.id == R.item_id)
        .outerjoin(service_tickets, service_tickets.c.id == R.ticket_id)
        .outerjoin(technicians, E.id == R.technician_id)
    )


def list_repairs(
    conn: Connection,
    *,
    limit: int,
    after: str | None = None,
    status: Sequence[str] = (),
    technician: str | None = None,
    customer: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """Repair orders by number."""
    query = _summary().order_by(R.number).limit(limit)
    if after is not None:
        query = query.where(R.number > after)
    if status:
        query = query.where(R.status.in_(status))
    if technician is not None:
        query = query.where(R.technician_id == id_of_code(technicians, technician))
    if customer is not None:
        query = query.where(R.customer_id == id_of_code(customers, customer))
    if kind is not None:
        query = query.where(R.kind == kind)
    return dicts(conn.execute(query), drop=("id",))


def detail(conn: Connection, number: str) -> dict[str, Any]:
    """The repair with its ticket, customer, unit, warranty, technician, parts, labour,
    costs, feedback and the unit's genealogy (None without a known lot or serial)."""
    order = get(conn, select(repair_orders).where(R.number == number), "repair order", number)
    cust = conn.execute(select(customers).where(customers.c.id == order.customer_id)).one()
    unit = conn.execute(select(items).where(items.c.id == order.item_id)).one()
    ticket = None
    if order.ticket_id is not None:
        ticket = conn.execute(
            select(service_tickets.c.number).where(service_tickets.c.id == order.ticket_id)
        ).scalar_one()
    tech = None
    if order.technician_id is not None:
        tech = record(
            conn.execute(
                select(E.code, E.name, E.territory).where(E.id == order.technician_id)
            ).one()
        )
    parts = _parts(conn, P.repair_order_id == order.id)
    labour = _labour(conn, L.repair_order_id == order.id)
    parts_cents = sum(p["cost_cents"] for p in parts)
    labour_cents = sum(w["cost_cents"] for w in labour)
    genealogy = None
    if order.lot:
        with contextlib.suppress(NotFound):  # a lot or serial the order book never saw
            genealogy = backward(conn, order.lot)
    return {
        "number": order.number,
        "kind": order.kind,
        "status": order.status,
        "ticket": ticket,
        "customer": {"code": cust.code, "name": cust.name},
        "unit": {
            "item": unit.code,
            "description": unit.description,
            "tracking": unit.tracking,
            "lot": order.lot,
        },
        "fault": order.fault,
        "diagnosis": order.diagnosis,
        "required_skills": order.required_skills,
        "site_address": order.site_address,
        "territory": order.territory,
        "scheduled_for": order.scheduled_for,
        "opened_at": order.opened_at,
        "closed_at": order.closed_at,
        "warranty": _warranty(order, cust.code, unit.warranty_months),
        "technician": tech,
        "parts": parts,
        "labour": labour,
        "costs": {
            "parts_cents": parts_cents,
            "labour_cents": labour_cents,
            "total_cents": parts_cents + labour_cents,
            "charged_cents": 0 if order.under_warranty else parts_cents + labour_cents,
        },
        "feedback": {"satisfaction": order.satisfaction, "feedback": order.feedback},
        "genealogy": genealogy,
    }


def _warranty(order: Any, customer: str, months: int) -> dict[str, Any]:
    if not order.lot:
        note = "no lot or serial given: the warranty cannot be checked"
    elif order.shipped_at is None:
        note = f"{order.lot} was never shipped to {customer}: not under warranty"
    elif order.under_warranty:
        note = f"under warranty until {order.warranty_until:%Y-%m-%d}"
    else:
        note = f"the warranty ended {order.warranty_until:%Y-%m-%d}"
    return {
        "under_warranty": order.under_warranty,
        "shipped_at": order.shipped_at,
        "warranty_until": order.warranty_until,
        "warranty_months": months,
        "note": note,
    }


def _parts(conn: Connection, where: Any) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            items.c.code.label("item"),
            P.lot,
            P.location,
            P.quantity,
            P.unit_cost_cents,
            P.at,
        )
        .join(items, items.c.id == P.item_id)
        .where(where)
        .order_by(P.id)
    )
    return [{**record(r), "cost_cents": round(r.quantity * r.unit_cost_cents)} for r in rows]


def _labour(conn: Connection, where: Any) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(E.code.label("technician"), L.hours, L.rate_cents, L.note, L.at)
        .join(technicians, E.id == L.technician_id)
        .where(where)
        .order_by(L.id)
    )
    return [{**record(r), "cost_cents": round(r.hours * r.rate_cents)} for r in rows]
