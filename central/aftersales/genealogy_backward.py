"""Backward genealogy: how a lot or serial was made, down through the made lots it consumed.

The tree is read one level at a time (``_Trace.fetch``), then names are looked up once
for all of it (``_Trace.name``), then rendered from the top (``_Trace.node``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from central.aftersales.genealogy_lookups import (
    MAX_DEPTH,
    bought,
    item_of,
    made_lots,
    order_summary,
    rows_in,
    shipment,
    shipped_lines,
    unknown_item,
)
from central.db.aftersales import operation_crews
from central.db.domain import (
    defect_codes,
    inspections,
    material_consumption,
    operation_tasks,
    operators,
    work_centers,
)
from central.db.schema import machine_states
from central.orders.errors import NotFound

__all__ = ["backward"]

MC = material_consumption.c


def backward(conn: Connection, lot: str) -> dict[str, Any]:
    """How ``lot`` (a lot or serial) was made, down through the made lots it consumed.

    ``{lot, serial, item, production_order, purchases, shipments}``. ``production_order``
    is the order that made it (None when it was bought): its operations (work center,
    stations, machines, crew), materials, inspections, and ``components``: the orders of
    the made lots it consumed, each traced the same way, ``MAX_DEPTH`` levels down.
    """
    made = made_lots(conn, {lot})
    order = made.get(lot)
    if order is None:
        item, purchases = bought(conn, lot)
        shipped = [shipment(s) for s in shipped_lines(conn, {lot})]
        if item is None and not shipped:
            raise NotFound("lot", lot)
        return {
            "lot": lot,
            "serial": False,
            "item": item or unknown_item(shipped[0]["item"]),
            "production_order": None,
            "purchases": purchases,
            "shipments": shipped,
        }
    trace = _Trace({})
    frontier = trace.add(made)
    for _ in range(MAX_DEPTH + 1):  # the last level's made lots are named, not read
        consumed = trace.fetch(conn, frontier)
        frontier = trace.add(made_lots(conn, consumed - trace.made.keys()))
        if not frontier:
            break
    trace.name(conn)
    # untracked goods ship without a lot: what left for the line it was made for
    lines = [order.sales_order_line_id] if order.tracking == "none" else []
    return {
        "lot": lot,
        "serial": lot != order.number,
        "item": item_of(order),
        "production_order": trace.node(order.number, {lot}, frozenset(), 0),
        "purchases": [],
        "shipments": [shipment(s) for s in shipped_lines(conn, {lot}, lines)],
    }


@dataclass
class _Trace:
    """What a backward trace read, level by level, and how it renders a node of it."""

    made: dict[str, Any]  # lot or serial -> the order (an ORDERS row) that made it
    orders: dict[str, Any] = field(default_factory=dict)  # work order -> the same rows
    rows: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # work order -> rows
    operators: dict[str, str] = field(default_factory=dict)
    machines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    defects: dict[str, str] = field(default_factory=dict)

    def fetch(self, conn: Connection, work_orders: set[str]) -> set[str]:
        """Read the tasks, crews, issues and inspections of ``work_orders``; the lots issued."""
        for wo in work_orders:
            self.rows[wo] = {"tasks": [], "crews": [], "issues": [], "inspections": []}
        T = operation_tasks.c
        wc = work_centers.c
        tasks = select(
            operation_tasks,
            wc.code.label("wc"),
            wc.name.label("wc_name"),
            wc.stations.label("wc_stations"),
        ).join(work_centers, wc.id == T.work_center_id)
        for kind, query, column in (
            ("tasks", tasks, T.work_order),
            ("crews", select(operation_crews), operation_crews.c.work_order),
            ("issues", select(material_consumption), MC.work_order),
            ("inspections", select(inspections), inspections.c.work_order),
        ):
            for row in rows_in(conn, query, column, work_orders):
                self.rows[row.work_order][kind].append(row)
        return {i.lot for wo in work_orders for i in self.rows[wo]["issues"]}

    def name(self, conn: Connection) -> None:
        """Look up, once for the whole tree, operator names, machines and defect texts."""
        badges: set[str] = set()
        stations: set[str] = set()
        codes: set[str] = set()
        for rows in self.rows.values():
            for c in rows["crews"]:
                badges.add(c.operator)
                stations.add(c.station)
            for i in rows["issues"]:
                badges.update(i.operators)
                if i.over_issue_approved_by:
                    badges.add(i.over_issue_approved_by)
                stations.add(i.station)
            for i in rows["inspections"]:
                badges.add(i.inspector)
                stations.add(i.station)
                codes.update(d["code"] for d in i.defects)
            for t in rows["tasks"]:
                stations.update(t.wc_stations or ())
        names = select(operators.c.badge, operators.c.name)
        self.operators = {b: n for b, n in rows_in(conn, names, operators.c.badge, badges)}
        texts = select(defect_codes.c.code, defect_codes.c.description)
        self.defects = {c: d for c, d in rows_in(conn, texts, defect_codes.c.code, codes)}
        M = machine_states.c
        # one row per machine: small, and read only for the stations of this tree
        where = select(M.machine, M.station, M.state, M.since).order_by(M.machine)
        for m in rows_in(conn, where, M.station, stations):
            self.machines.setdefault(m.station, []).append(
                {"machine": m.machine, "station": m.station, "state": m.state, "since": m.since}
            )

    def add(self, made: dict[str, Any]) -> set[str]:
        """Take in made lots found; the work orders not read yet."""
        self.made.update(made)
        self.orders.update((o.number, o) for o in made.values())
        return self.orders.keys() - self.rows.keys()

    def person(self, badge: str | None) -> dict[str, Any] | None:
        return None if badge is None else {"badge": badge, "name": self.operators.get(badge)}

    def node(self, wo: str, lots: set[str], path: frozenset[str], depth: int) -> dict[str, Any]:
        """The production order ``wo`` as it made ``lots``, its components traced below it."""
        order = self.orders[wo]
        rows = self.rows[wo]
        path = path | {wo}
        issues = sorted(rows["issues"], key=lambda i: (i.at, i.id))
        consumed: dict[str, set[str]] = defaultdict(set)
        for i in issues:
            if i.lot in self.made:
                consumed[self.made[i.lot].number].add(i.lot)
        components = []
        for component, its_lots in sorted(consumed.items()):
            stub = {"work_order": component, "lots": sorted(its_lots)}
            if component in path:
                components.append({**stub, "cycle": True})
            elif depth >= MAX_DEPTH or component not in self.rows:
                components.append({**stub, "item": self.orders[component].item, "truncated": True})
            else:
                components.append(self.node(component, its_lots, path, depth + 1))
        tasks = sorted(rows["tasks"], key=lambda t: (t.sequence, t.operation))
        serials = lots - {wo}
        return {
            "work_order": wo,
            "lots": sorted(lots),
            **order_summary(order),
            "started_at": min((t.actual_start for t in tasks if t.actual_start), default=None),
            "completed_at": order.completed_at,
            "operations": [self._operation(t, rows) for t in tasks],
            "materials": [self._material(i) for i in issues],
            "inspections": [
                self._inspection(i, serials)
                for i in sorted(rows["inspections"], key=lambda i: (i.at, i.id))
            ],
            "components": components,
        }

    def _operation(self, task: Any, rows: dict[str, list[Any]]) -> dict[str, Any]:
        op = task.operation
        crew = sorted(
            (c for c in rows["crews"] if c.operation == op), key=lambda c: (c.first_at, c.operator)
        )
        seen = [c.station for c in crew]
        seen += [i.station for i in rows["issues"] if i.operation == op]
        seen += [i.station for i in rows["inspections"] if i.operation == op]
        stations = list(dict.fromkeys(seen))
        # reports without a crew leave no station behind: the work center's then
        near = stations or list(task.wc_stations or ())
        return {
            "operation": op,
            "sequence": task.sequence,
            "status": task.status,
            "work_center": {"code": task.wc, "name": task.wc_name, "stations": near},
            "stations": stations,
            "machines": [m for s in near for m in self.machines.get(s, ())],
            "operators": [
                {
                    "badge": c.operator,
                    "name": self.operators.get(c.operator),
                    "station": c.station,
                    "good": c.good,
                    "scrap": c.scrap,
                    "labour_hours": c.labour_hours,
                    "first_at": c.first_at,
                    "last_at": c.last_at,
                }
                for c in crew
            ],
            "good": task.good,
            "scrap": task.scrap,
            "rework": task.rework,
            "labour_hours": task.labour_hours,
            "inspected": task.inspected,
            "rejected": task.rejected,
            "actual_start": task.actual_start,
            "actual_end": task.actual_end,
        }

    def _material(self, issue: Any) -> dict[str, Any]:
        maker = self.made.get(issue.lot)
        return {
            "operation": issue.operation,
            "item": issue.item,
            "lot": issue.lot,
            "quantity": issue.quantity,
            "station": issue.station,
            "operators": [self.person(b) for b in issue.operators],
            "over_issue_approved_by": self.person(issue.over_issue_approved_by),
            "at": issue.at,
            "made_by": maker.number if maker is not None else None,
        }

    def _inspection(self, i: Any, serials: set[str]) -> dict[str, Any]:
        return {
            "operation": i.operation,
            "station": i.station,
            "inspected": i.inspected,
            "sampling": i.sampling,
            "disposition": i.disposition,
            # as the contract says: without a result, it failed if any defect was found
            "result": i.result or ("fail" if i.defects else "pass"),
            "defects": [
                {
                    "code": d["code"],
                    "description": self.defects.get(d["code"]),
                    "quantity": d.get("quantity", 1),
                }
                for d in i.defects
            ],
            "inspector": self.person(i.inspector),
            "lot": i.lot,
            "serial": i.serial,
            "names_serial": i.serial is not None and i.serial in serials,
            "rework_operation": i.rework_operation,
            "at": i.at,
        }
