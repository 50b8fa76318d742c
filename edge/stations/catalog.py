"""What a station checks against offline: released orders and master data, as lookups."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from edge.stations.errors import Refused
from protocols.contract import DispatchList, MasterData

T = TypeVar("T")


@dataclass(frozen=True)
class OrderOperation:
    """One operation of a released order, as central dispatched it."""

    operation: str
    work_center: str
    stations: tuple[str, ...]
    quantity: float
    status: str = "pending"
    good: int = 0


@dataclass(frozen=True)
class Order:
    """A released production order for this line."""

    work_order: str
    item: str
    quantity: float
    sequence: int
    operations: tuple[OrderOperation, ...]


@dataclass(frozen=True)
class Item:
    item: str
    description: str = ""
    unit: str = "pcs"
    tracking: str = "none"
    gtin: str | None = None


@dataclass(frozen=True)
class BomLine:
    """``quantity_per_unit`` of ``component`` goes into one ``item`` at ``operation``."""

    item: str
    operation: str
    component: str
    quantity_per_unit: float
    scrap_allowance: float = 0.0
    issue_tolerance: float = 0.0


@dataclass(frozen=True)
class RoutingStep:
    """How ``operation`` of ``item`` is done: what the planner set in the routing."""

    item: str
    operation: str
    sequence: int = 0
    description: str = ""
    inspection_required: bool = False
    run_minutes_per_unit: float | None = None


@dataclass(frozen=True)
class Operator:
    badge: str
    name: str
    skills: frozenset[str]  # work center codes the operator may run


def _rows(section: str, rows: list[dict[str, Any]], make: Callable[[dict[str, Any]], T]) -> list[T]:
    # A malformed cache is central's bug or a contract mismatch, not a worker's mistake:
    # say which row, once, at load time.
    made = []
    for index, row in enumerate(rows):
        try:
            made.append(make(row))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"master data {section}[{index}]: bad or missing {exc}") from None
    return made


def _item(row: dict[str, Any]) -> Item:
    return Item(
        item=row["item"],
        description=row.get("description", ""),
        unit=row.get("unit") or "pcs",
        tracking=row.get("tracking", "none"),
        gtin=row.get("gtin"),
    )


def _bom_line(row: dict[str, Any]) -> BomLine:
    return BomLine(
        item=row["item"],
        operation=row["operation"],
        component=row["component"],
        quantity_per_unit=float(row["quantity_per_unit"]),
        scrap_allowance=float(row.get("scrap_allowance", 0.0)),
        issue_tolerance=float(row.get("issue_tolerance", 0.0)),
    )


def _routing_step(row: dict[str, Any]) -> RoutingStep:
    run = row.get("run_minutes_per_unit")
    return RoutingStep(
        item=row["item"],
        operation=row["operation"],
        sequence=int(row.get("sequence", 0)),
        description=row.get("description") or "",
        inspection_required=bool(row.get("inspection_required", False)),
        run_minutes_per_unit=None if run is None else float(run),
    )


def _defect_code(row: dict[str, Any]) -> tuple[str, str]:
    return row["code"], row.get("description", "")


def _operator(row: dict[str, Any]) -> Operator:
    return Operator(badge=row["badge"], name=row["name"], skills=frozenset(row["skills"]))


@dataclass(frozen=True)
class Catalog:
    """Lookups over the cached dispatch list and master data; misses raise ``Refused``."""

    orders: Mapping[str, Order]
    items: Mapping[str, Item]
    bom: Mapping[tuple[str, str], tuple[BomLine, ...]]
    operators: Mapping[str, Operator]
    defect_codes: Mapping[str, str]
    routing: Mapping[tuple[str, str], RoutingStep] = field(default_factory=dict)

    @classmethod
    def from_master_data(
        cls, dispatch_list_body: dict[str, Any], master_data_body: dict[str, Any]
    ) -> Catalog:
        """Build from the bodies of the ``dispatch_list`` and ``master_data`` commands."""
        listing = DispatchList.model_validate(dispatch_list_body)
        data = MasterData.model_validate(master_data_body)
        orders = {
            o.work_order: Order(
                work_order=o.work_order,
                item=o.item,
                quantity=o.quantity,
                sequence=o.sequence,
                operations=tuple(
                    OrderOperation(
                        operation=op.operation,
                        work_center=op.work_center,
                        stations=tuple(op.stations),
                        quantity=op.quantity,
                        status=op.status,
                        good=op.good,
                    )
                    for op in o.operations
                ),
            )
            for o in listing.orders
        }
        bom: dict[tuple[str, str], list[BomLine]] = {}
        for line in _rows("bom", data.bom, _bom_line):
            bom.setdefault((line.item, line.operation), []).append(line)
        return cls(
            orders=orders,
            items={i.item: i for i in _rows("items", data.items, _item)},
            bom={key: tuple(lines) for key, lines in bom.items()},
            operators={o.badge: o for o in _rows("operators", data.operators, _operator)},
            defect_codes=dict(_rows("defect_codes", data.defect_codes, _defect_code)),
            routing={
                (step.item, step.operation): step
                for step in _rows("routings", data.routings, _routing_step)
            },
        )

    @classmethod
    def empty(cls) -> Catalog:
        """What a station knows before central's first dispatch: nothing, so it refuses."""
        return cls(orders={}, items={}, bom={}, operators={}, defect_codes={})

    def step(self, item: str, operation: str) -> RoutingStep:
        """The routing step of ``operation`` for ``item``; a bare one if the routing is silent."""
        return self.routing.get((item, operation)) or RoutingStep(item, operation)

    def order(self, work_order: str) -> Order:
        found = self.orders.get(work_order)
        if found is None:
            raise Refused(
                "unknown_work_order",
                f"Work order {work_order} is not released for this line. Check the traveller.",
            )
        return found

    def operation(self, work_order: str, operation: str) -> OrderOperation:
        """Operation ``operation`` of ``work_order``."""
        for op in self.order(work_order).operations:
            if op.operation == operation:
                return op
        raise Refused("unknown_operation", f"Work order {work_order} has no operation {operation}.")

    def operation_at(self, work_order: str, station: str) -> OrderOperation:
        """The operation of ``work_order`` done at ``station``; the first not yet done wins."""
        here = [op for op in self.order(work_order).operations if station in op.stations]
        if not here:
            raise Refused(
                "not_at_station",
                f"Work order {work_order} has no operation at station {station}. "
                "Take it to the right station.",
            )
        return next((op for op in here if op.status != "done"), here[0])

    def item_by_gtin(self, gtin: str) -> Item:
        """The item with this GTIN; GTIN-8/12/13 and GTIN-14 forms compare equal."""
        for item in self.items.values():
            if item.gtin is not None and item.gtin.zfill(14) == gtin.zfill(14):
                return item
        raise Refused(
            "unknown_gtin", f"Material with GTIN {gtin} is not known here. Check the label."
        )

    def bom_lines(self, item: str, operation: str) -> tuple[BomLine, ...]:
        """What goes into ``item`` at ``operation``; empty when nothing does."""
        return self.bom.get((item, operation), ())

    def operator(self, badge: str) -> Operator:
        found = self.operators.get(badge)
        if found is None:
            raise Refused("unknown_badge", f"Badge {badge} is not known here. Ask your supervisor.")
        return found

    def is_defect_code(self, code: str) -> bool:
        return code in self.defect_codes

    def defect_code(self, code: str) -> str:
        """The description of a valid defect code."""
        if code not in self.defect_codes:
            raise Refused(
                "unknown_defect_code", f"Defect code {code} does not exist. Pick one from the list."
            )
        return self.defect_codes[code]
