"""An item's routing: the operations that make it, at which work center, how long, in what order.

Replacing a routing changes what the next production orders are made by; orders already
planned keep the tasks they were given.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import Connection, delete, insert, select

from central.api.deps import Db, Write, writer
from central.api.rows import MAX_LINES, Body, Code, CodeInPath, codes_to_ids, get, record
from central.auth import PLANNING
from central.db.domain import bom_lines, items, routing_operations, work_centers
from central.orders.errors import Conflict, Invalid

router = APIRouter(tags=["routings"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]
R = routing_operations.c


class Operation(Body):
    operation: Code = Field(description='as on the traveller: "10", "20", ...')
    sequence: int = Field(ge=0, description="order of the operations; the last one is the highest")
    description: str = Field("", max_length=200)
    work_center: Code
    # a week of setup, a day per piece, a crew of a hundred: past any operation on a
    # floor, and minutes * quantity stay finite for the scheduler
    setup_minutes: float = Field(0.0, ge=0, le=10_080, allow_inf_nan=False)
    run_minutes_per_unit: float = Field(ge=0, le=1_440, allow_inf_nan=False)
    crew_size: int = Field(1, ge=1, le=100)
    inspection_required: bool = False
    predecessors: list[Code] = Field(
        [], max_length=MAX_LINES, description="operations that must finish first"
    )


class Routing(Body):
    operations: list[Operation] = Field(max_length=MAX_LINES)


@router.get("/items/{code}/routing")
def routing(code: CodeInPath, db: Db) -> dict[str, Any]:
    """The item's operations in sequence."""
    with db.connect() as conn:
        return _routing(conn, code)


@router.put("/items/{code}/routing")
def replace_routing(code: CodeInPath, body: Routing, write: PlanningWrite) -> dict[str, Any]:
    """Replace all of the item's operations (a made item's)."""

    def work(conn: Connection) -> dict[str, Any]:
        item = made_item(conn, code)
        ops = body.operations
        _check(ops)
        centers = codes_to_ids(
            conn,
            work_centers,
            [op.work_center for op in ops],
            "work center",
            "operations.{i}.work_center",
        )
        kept = {op.operation for op in ops}
        orphans = conn.execute(
            select(bom_lines.c.operation)
            .where(bom_lines.c.item_id == item.id, bom_lines.c.operation.not_in(kept))
            .distinct()
        ).scalars()
        missing = sorted(orphans)
        if missing:
            raise Conflict(
                "bom_uses_operation",
                f"the BOM of {code} consumes material at operation {', '.join(missing)}: "
                "change the BOM first",
                "operations",
            )
        conn.execute(delete(routing_operations).where(R.item_id == item.id))
        if ops:
            conn.execute(
                insert(routing_operations),
                [
                    {
                        **op.model_dump(exclude={"work_center"}),
                        "item_id": item.id,
                        "work_center_id": centers[op.work_center],
                    }
                    for op in ops
                ],
            )
        return _routing(conn, code)

    return write(work)


def made_item(conn: Connection, code: str) -> Any:
    """The item (404 if none) if it is made here (422 otherwise)."""
    item = get(conn, select(items.c.id, items.c.kind).where(items.c.code == code), "item", code)
    if item.kind != "make":
        raise Invalid("not_made", f"item {code} is {item.kind}, not made here", "item")
    return item


def _check(ops: list[Operation]) -> None:
    seen: set[str] = set()
    sequences: set[int] = set()
    for i, op in enumerate(ops):
        if op.operation in seen:
            message = f"operation {op.operation} is listed twice"
            raise Invalid("duplicate_operation", message, f"operations.{i}.operation")
        if op.sequence in sequences:
            message = f"sequence {op.sequence} is used twice"
            raise Invalid("duplicate_sequence", message, f"operations.{i}.sequence")
        seen.add(op.operation)
        sequences.add(op.sequence)
    for i, op in enumerate(ops):
        for j, before in enumerate(op.predecessors):
            if before not in seen or before == op.operation:
                raise Invalid(
                    "unknown_predecessor",
                    f"operation {op.operation} waits for {before}, not another of this routing",
                    f"operations.{i}.predecessors.{j}",
                )


def _routing(conn: Connection, code: str) -> dict[str, Any]:
    item = get(conn, select(items.c.id).where(items.c.code == code), "item", code)
    rows = conn.execute(
        select(
            R.operation,
            R.sequence,
            R.description,
            work_centers.c.code.label("work_center"),
            R.setup_minutes,
            R.run_minutes_per_unit,
            R.crew_size,
            R.inspection_required,
            R.predecessors,
        )
        .join(work_centers, work_centers.c.id == R.work_center_id)
        .where(R.item_id == item.id)
        .order_by(R.sequence)
    )
    return {"item": code, "operations": [record(r) for r in rows]}
