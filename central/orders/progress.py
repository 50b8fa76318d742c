"""What the floor's events change in the order book, in the transaction that stores them.

* ``production_report``: the operation's good / scrap / rework and labour hours; the
  first report starts the task (and its production order), ``operation_end`` ends it.
  Its crew's shares add up per operation, station and operator (``operation_crews``),
  so genealogy names who made a lot without reading the event log.
* ``material_issue``: material consumed by lot, and the lot leaves stores.
* ``inspection``: inspected and rejected counts; a ``scrap`` disposition rejects the
  pieces inspected, a ``rework`` one sends them back to the operation named in
  ``rework_operation`` (default: the one inspected), which runs again if it was done.
* When the last operation of a production order has more qualified pieces (good minus
  rejected) than were received, the difference is booked into finished goods against
  the order line: lot = work order number (serial-tracked items get one serial per
  piece, for at most the order's quantity and a tenth more: ``serial_ceiling``),
  reserved for the order line it was made for. The order completes when all
  its quantity is received, and its sales order is ready when every line is.

Events for work orders central does not know still count at their station (the spine's
station totals) and are otherwise left alone: the floor may run orders made elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, case, delete, func, insert, select, update

from central.db.aftersales import operation_crews
from central.db.bulk import insert_rows
from central.db.domain import (
    inspections,
    items,
    material_consumption,
    operation_tasks,
    production_orders,
    reservations,
    sales_order_lines,
    sales_orders,
)
from central.db.upsert import upsert
from central.orders import dispatch, inventory

if TYPE_CHECKING:
    from central.ingest import Event

T = operation_tasks.c
_REPORT = (
    update(operation_tasks)
    .where(T.work_order == bindparam("wo"), T.operation == bindparam("op"))
    .values(
        good=T.good + bindparam("d_good"),
        scrap=T.scrap + bindparam("d_scrap"),
        rework=T.rework + bindparam("d_rework"),
        labour_hours=T.labour_hours + bindparam("d_hours"),
        actual_start=func.coalesce(T.actual_start, bindparam("start")),
        actual_end=case((bindparam("ended"), bindparam("end")), else_=T.actual_end),
        # a report after the operation ended (late, or a correction) does not reopen it
        status=case((bindparam("ended"), "done"), (T.status == "done", "done"), else_="running"),
    )
)
P = production_orders.c
_ORDER_PROGRESS = (
    update(production_orders)
    .where(P.id == bindparam("po"))
    .values(
        received=bindparam("b_received"),
        status=bindparam("b_status"),
        completed_at=case((bindparam("moved"), bindparam("b_completed_at")), else_=P.completed_at),
    )
)
_INSPECTED = (
    update(operation_tasks)
    .where(T.work_order == bindparam("wo"), T.operation == bindparam("op"))
    .values(
        inspected=T.inspected + bindparam("d_inspected"),
        rejected=T.rejected + bindparam("d_rejected"),
        rework=T.rework + bindparam("d_rework"),
    )
)


def apply(conn: Connection, edge_id: str, applied: Sequence[Event]) -> None:
    """Fold a run of one edge's applied events into the order book."""
    reports: dict[tuple[str, str], dict[str, Any]] = {}
    crews: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    checks: dict[tuple[str, str], dict[str, Any]] = {}
    consumed: list[dict[str, Any]] = []
    inspected: list[dict[str, Any]] = []
    reopened: set[tuple[str, str]] = set()
    for env in applied:
        kind, p = env.kind, env.payload
        if kind == "production_report":
            key = (p["work_order"], p["operation"])
            row = reports.get(key)
            start = _ts(p["period_start"])
            end = _ts(p["period_end"])
            if row is None:
                row = reports[key] = {
                    "wo": key[0],
                    "op": key[1],
                    "d_good": 0,
                    "d_scrap": 0,
                    "d_rework": 0,
                    "d_hours": 0.0,
                    "start": start,
                    "end": end,
                    "ended": False,
                }
            row["d_good"] += p["good"]
            row["d_scrap"] += p["scrap"]
            row["d_rework"] += p.get("rework", 0)
            row["d_hours"] += p.get("labour_hours", 0.0)
            row["start"] = min(row["start"], start)
            row["end"] = max(row["end"], end)
            row["ended"] = row["ended"] or p.get("operation_end", False)
            for share in p.get("crew", ()):
                _crew_share(crews, key, env.station, share, start, end)
        elif kind == "material_issue":
            consumed.append(
                {
                    "work_order": p["work_order"],
                    "operation": p["operation"],
                    "item": p["item"],
                    "lot": p["lot"],
                    # JSON may carry a whole number as int: PostgreSQL's arrays want one type
                    "quantity": float(p["quantity"]),
                    "station": env.station,
                    "operators": p.get("operators", []),
                    "over_issue_approved_by": p.get("over_issue_approved_by"),
                    "edge_id": edge_id,
                    "seq": env.seq,
                    "at": env.ts,
                }
            )
        elif kind == "inspection":
            key = (p["work_order"], p["operation"])
            _check(checks, key)["d_inspected"] += p["inspected"]
            if p["disposition"] == "scrap":
                _check(checks, key)["d_rejected"] += p["inspected"]
            elif p["disposition"] == "rework":
                # the pieces go back in the routing: the operation they return to redoes them
                back = (p["work_order"], p.get("rework_operation") or p["operation"])
                _check(checks, back)["d_rework"] += p["inspected"]
                if back != key:
                    reopened.add(back)
            inspected.append(
                {
                    "work_order": p["work_order"],
                    "operation": p["operation"],
                    "inspected": p["inspected"],
                    "disposition": p["disposition"],
                    "defects": p.get("defects", []),
                    "inspector": p["inspector"],
                    "lot": p.get("lot"),
                    "serial": p.get("serial"),
                    "sampling": p.get("check", "sample"),
                    "result": p.get("result"),
                    "rework_operation": p.get("rework_operation"),
                    "station": env.station,
                    "edge_id": edge_id,
                    "seq": env.seq,
                    "at": env.ts,
                }
            )
    if reports:
        conn.execute(_REPORT, list(reports.values()))
    if crews:
        upsert(
            conn,
            operation_crews,
            list(crews.values()),
            add=("good", "scrap", "labour_hours"),
            least=("first_at",),  # a late report may cover an earlier period
            greatest=("last_at",),
        )
    if checks:
        conn.execute(_INSPECTED, list(checks.values()))
    if consumed:
        insert_rows(conn, material_consumption, consumed)
        _consume(conn, consumed)
    if inspected:
        insert_rows(conn, inspections, inspected)
    touched = set(reports) | set(checks)
    if touched:
        _receive(conn, sorted({wo for wo, _ in touched}), applied[-1].ts)
    for wo, op in sorted(reopened):  # a finished operation with rework to do runs again
        conn.execute(
            update(operation_tasks)
            .where(T.work_order == wo, T.operation == op, T.status == "done")
            .values(status="running")
        )
    ended = sorted(
        {row["wo"] for row in reports.values() if row["ended"]} | {w for w, _ in reopened}
    )
    if ended:  # the edges' dispatch lists say which operations are done
        order_ids = conn.execute(select(P.id).where(P.number.in_(ended))).scalars()
        edges = {edge for order_id in order_ids for edge in dispatch.edges_of(conn, order_id)}
        dispatch.refresh(conn, sorted(edges), applied[-1].ts)


def _crew_share(
    crews: dict[tuple[str, str, str, str], dict[str, Any]],
    task: tuple[str, str],
    station: str,
    share: dict[str, Any],
    start: datetime,
    end: datetime,
) -> None:
    key = (*task, station, share["operator"])
    row = crews.get(key)
    if row is None:
        crews[key] = {
            "work_order": task[0],
            "operation": task[1],
            "station": station,
            "operator": share["operator"],
            "good": share["good"],
            "scrap": share["scrap"],
            "labour_hours": float(share["labour_hours"]),
            "first_at": start,
            "last_at": end,
        }
        return
    row["good"] += share["good"]
    row["scrap"] += share["scrap"]
    row["labour_hours"] += share["labour_hours"]
    row["first_at"] = min(row["first_at"], start)
    row["last_at"] = max(row["last_at"], end)


def _check(checks: dict[tuple[str, str], dict[str, Any]], key: tuple[str, str]) -> dict[str, Any]:
    return checks.setdefault(
        key, {"wo": key[0], "op": key[1], "d_inspected": 0, "d_rejected": 0, "d_rework": 0}
    )


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _consume(conn: Connection, consumed: list[dict[str, Any]]) -> None:
    """Issued lots leave stock (bought ones stores, made ones finished goods, where each is
    received); material of items central does not know is only recorded."""
    codes = {c["item"] for c in consumed}
    known = conn.execute(
        select(items.c.code, items.c.id, items.c.kind, items.c.tracking).where(
            items.c.code.in_(codes)
        )
    ).all()
    ids = {code: item_id for code, item_id, _, _ in known}
    made = {code for code, _, kind, _ in known if kind == "make"}
    untracked = {code for code, _, _, tracking in known if tracking == "none"}
    moves = [
        inventory.Move(
            ids[c["item"]],
            "" if c["item"] in untracked else c["lot"],  # untracked stock has no lots
            c["quantity"],
            "consumption",
            c["work_order"],
            from_location=inventory.FINISHED_GOODS if c["item"] in made else inventory.STORES,
        )
        for c in consumed
        if c["item"] in ids
    ]
    inventory.book(conn, moves, consumed[-1]["at"])
    numbers = {c["work_order"] for c in consumed}
    order_ids = dict(
        conn.execute(
            select(production_orders.c.number, production_orders.c.id).where(
                production_orders.c.number.in_(numbers)
            )
        ).all()
    )
    # what is consumed is no longer reserved for the order (that lot's reservation first)
    taken: dict[tuple[int, int], tuple[str, float]] = {}
    for c in consumed:
        order_id, item_id = order_ids.get(c["work_order"]), ids.get(c["item"])
        if order_id is not None and item_id is not None:
            _, before = taken.get((order_id, item_id), ("", 0.0))
            taken[(order_id, item_id)] = (c["lot"], before + c["quantity"])
    if not taken:
        return
    held: dict[tuple[int, int], list[Any]] = {}
    for row in conn.execute(
        select(reservations).where(
            reservations.c.production_order_id.in_({o for o, _ in taken}),
            reservations.c.item_id.in_({i for _, i in taken}),
        )
    ):
        held.setdefault((row.production_order_id, row.item_id), []).append(row)
    plan: list[tuple[Any, float]] = []
    for key, (lot, quantity) in taken.items():
        rows = sorted(held.get(key, ()), key=lambda r: (r.lot != lot, r.id))
        plan += inventory.plan_take(rows, quantity)
    inventory.release(conn, plan)


def _receive(conn: Connection, work_orders: list[str], now: datetime) -> None:
    """Book newly qualified pieces of last operations into finished goods."""
    columns = (
        P.id,
        P.number,
        P.status,
        P.quantity,
        P.received,
        P.item_id,
        P.sales_order_line_id,
        P.parent_id,
        items.c.tracking,
    )
    rows = conn.execute(
        select(*columns, func.sum(case((T.last, T.good - T.rejected), else_=0)).label("qualified"))
        .join(operation_tasks, T.production_order_id == P.id)
        .join(items, items.c.id == P.item_id)
        .where(P.number.in_(work_orders))
        .group_by(*columns)
    ).all()
    moves: list[inventory.Move] = []
    finished_edges: set[str] = set()
    changed: list[dict[str, Any]] = []
    for order in rows:
        # negative when an inspection scrapped pieces already received: they go back out
        if order.status in ("cancelled", "closed"):
            continue  # late reports on a closed book change nothing but the task counts
        # (a scrap inspection may arrive before the report of the pieces it scraps)
        qualified = max(0, int(order.qualified or 0))
        if order.tracking == "serial":
            # never below what was received already (before this ceiling existed)
            qualified = min(qualified, max(serial_ceiling(order.quantity), int(order.received)))
        change = qualified - int(order.received)
        status = order.status
        if status in ("released", "planned"):
            status = "in_progress"  # the floor reported on it
        received = order.received + change
        if status == "completed" and received < order.quantity - 1e-9:
            status = "in_progress"
        elif status != "completed" and received >= order.quantity - 1e-9:
            status = "completed"
            finished_edges.update(dispatch.edges_of(conn, order.id))
            # what it had reserved and not consumed is free again
            conn.execute(delete(reservations).where(reservations.c.production_order_id == order.id))
        if change == 0 and status == order.status:
            continue
        changed.append(
            {
                "po": order.id,
                "b_received": received,
                "b_status": status,
                "moved": status != order.status,
                "b_completed_at": now if status == "completed" else None,
            }
        )
        if change > 0:
            moves += _receipt_moves(order, change)
        elif change < 0:
            moves += _scrapped_moves(order, -change)
        if change and order.sales_order_line_id is not None:
            _line_goods(conn, order, change, now)
        elif change > 0 and order.parent_id is not None:
            _parent_goods(conn, order, change, now)
    if changed:
        conn.execute(_ORDER_PROGRESS, changed)
    inventory.book(conn, moves, now)
    _advance_sales_orders(conn, [o.sales_order_line_id for o in rows if o.sales_order_line_id])
    if finished_edges:
        dispatch.refresh(conn, sorted(finished_edges), now)


def serial_ceiling(quantity: float) -> int:
    """The most pieces a serial-tracked order receives: its quantity and a tenth more.

    Each piece received gets a serial and a stock row, so a count the floor got wrong
    (a report of ten million pieces on an order of five) would otherwise number millions
    of serials in one transaction. Pieces beyond it stay on the operation's counts.
    """
    return int(quantity + max(1.0, quantity * 0.1))


def _lots(order: Any, first: int, quantity: int) -> list[tuple[str, float]]:
    """(lot or serial, quantity) of ``quantity`` pieces from the ``first``-th received."""
    if order.tracking == "serial":
        return [(f"{order.number}-{n:04d}", 1.0) for n in range(first, first + quantity)]
    return [(order.number if order.tracking == "lot" else "", float(quantity))]


def _receipt_moves(order: Any, quantity: int) -> list[inventory.Move]:
    return [
        inventory.Move(
            order.item_id,
            lot,
            qty,
            "receipt",
            order.number,
            to_location=inventory.FINISHED_GOODS,
        )
        for lot, qty in _lots(order, int(order.received) + 1, quantity)
    ]


def _scrapped_moves(order: Any, quantity: int) -> list[inventory.Move]:
    """The last pieces received leave finished goods again: inspected and scrapped."""
    return [
        inventory.Move(
            order.item_id,
            lot,
            qty,
            "adjustment",
            order.number,
            from_location=inventory.FINISHED_GOODS,
        )
        for lot, qty in _lots(order, int(order.received) - quantity + 1, quantity)
    ]


def _line_goods(conn: Connection, order: Any, change: int, now: datetime) -> None:
    """Goods made for an order line are reserved for it (and unreserved when scrapped)."""
    if change > 0:
        line = conn.execute(
            select(sales_order_lines.c.quantity, sales_order_lines.c.shipped).where(
                sales_order_lines.c.id == order.sales_order_line_id
            )
        ).one()
        held = conn.execute(
            select(func.coalesce(func.sum(reservations.c.quantity), 0.0)).where(
                reservations.c.sales_order_line_id == order.sales_order_line_id
            )
        ).scalar_one()
        # what the line still needs; made beyond it stays free stock in finished goods
        room = max(0.0, line.quantity - line.shipped - float(held))
        for lot, qty in _lots(order, int(order.received) + 1, change):
            qty = min(qty, room)
            room -= qty
            if qty <= 1e-9:
                break
            # one reservation per line and lot, grown by each receipt
            grown = conn.execute(
                update(reservations)
                .where(
                    reservations.c.sales_order_line_id == order.sales_order_line_id,
                    reservations.c.lot == lot,
                    reservations.c.location == inventory.FINISHED_GOODS,
                )
                .values(quantity=reservations.c.quantity + qty)
            ).rowcount
            if not grown:
                conn.execute(
                    insert(reservations).values(
                        sales_order_line_id=order.sales_order_line_id,
                        production_order_id=None,
                        item_id=order.item_id,
                        lot=lot,
                        location=inventory.FINISHED_GOODS,
                        quantity=qty,
                        created_at=now,
                    )
                )
    else:
        for lot, qty in _lots(order, int(order.received) + change + 1, -change):
            _unreserve(
                conn,
                (reservations.c.sales_order_line_id == order.sales_order_line_id)
                & (reservations.c.location == inventory.FINISHED_GOODS),
                lot,
                qty,
            )
    conn.execute(
        update(sales_order_lines)
        .where(sales_order_lines.c.id == order.sales_order_line_id)
        .values(produced=sales_order_lines.c.produced + change)
    )


def _parent_goods(conn: Connection, order: Any, change: int, now: datetime) -> None:
    """A component made for another production order is reserved for it on receipt."""
    for lot, qty in _lots(order, int(order.received) + 1, change):
        conn.execute(
            insert(reservations).values(
                production_order_id=order.parent_id,
                item_id=order.item_id,
                lot=lot,
                location=inventory.FINISHED_GOODS,
                quantity=qty,
                created_at=now,
            )
        )


def _unreserve(conn: Connection, which: Any, lot: str, quantity: float) -> None:
    """Take ``quantity`` off the reservations ``which`` selects, that lot's first."""
    rows = conn.execute(
        select(reservations.c.id, reservations.c.quantity)
        .where(which)
        .order_by(case((reservations.c.lot == lot, 0), else_=1), reservations.c.id)
    ).all()
    inventory.take_reserved(conn, list(rows), quantity)


def _advance_sales_orders(conn: Connection, line_ids: list[int]) -> None:
    """Confirmed orders being made are in production; all goods at hand for them, ready."""
    if not line_ids:
        return
    order_ids = set(
        conn.execute(
            select(sales_order_lines.c.sales_order_id).where(sales_order_lines.c.id.in_(line_ids))
        ).scalars()
    )
    at_hand = (
        select(func.coalesce(func.sum(reservations.c.quantity), 0.0))
        .where(reservations.c.sales_order_line_id == sales_order_lines.c.id)
        .scalar_subquery()
    )
    for order_id in order_ids:
        lines = conn.execute(
            select(sales_order_lines.c.quantity, sales_order_lines.c.shipped, at_hand, items.c.kind)
            .join(items, items.c.id == sales_order_lines.c.item_id)
            .where(sales_order_lines.c.sales_order_id == order_id)
        ).all()
        ready = all(q <= s + r + 1e-9 for q, s, r, kind in lines if kind != "service")
        conn.execute(
            update(sales_orders)
            .where(
                sales_orders.c.id == order_id,
                sales_orders.c.status.in_(("confirmed", "in_production", "ready")),
            )
            .values(status="ready" if ready else "in_production")
        )
