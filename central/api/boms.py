"""An item's bill of materials: which components, how many per unit, at which operation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import Connection, delete, insert, select

from central.api.deps import Db, Write, writer
from central.api.routings import made_item
from central.api.rows import MAX_LINES, Body, Code, CodeInPath, codes_to_ids, get, record
from central.auth import PLANNING
from central.db.domain import bom_lines, items, routing_operations
from central.orders.errors import Invalid

router = APIRouter(tags=["boms"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]
B = bom_lines.c


class BomLine(Body):
    operation: Code = Field(description="the routing operation that consumes it")
    component: Code
    quantity_per_unit: float = Field(gt=0, le=1e6, allow_inf_nan=False)
    scrap_allowance: float = Field(0.0, ge=0, le=10, description="fraction: 0.02 is 2 %")
    issue_tolerance: float = Field(0.0, ge=0, le=10, description="fraction over-issue allowed")


class Bom(Body):
    lines: list[BomLine] = Field(max_length=MAX_LINES)


@router.get("/items/{code}/bom")
def bom(code: CodeInPath, db: Db) -> dict[str, Any]:
    """The item's components by operation."""
    with db.connect() as conn:
        return _bom(conn, code)


@router.put("/items/{code}/bom")
def replace_bom(code: CodeInPath, body: Bom, write: PlanningWrite) -> dict[str, Any]:
    """Replace all of the item's BOM lines; each names an operation of its routing."""

    def work(conn: Connection) -> dict[str, Any]:
        item = made_item(conn, code)
        lines = body.lines
        components = codes_to_ids(
            conn, items, [line.component for line in lines], "item", "lines.{i}.component"
        )
        operations = set(
            conn.execute(
                select(routing_operations.c.operation).where(
                    routing_operations.c.item_id == item.id
                )
            ).scalars()
        )
        seen: set[tuple[str, str]] = set()
        for i, line in enumerate(lines):
            if line.operation not in operations:
                raise Invalid(
                    "unknown_operation",
                    f"{code}'s routing has no operation {line.operation}",
                    f"lines.{i}.operation",
                )
            if line.component == code:
                raise Invalid("bom_cycle", f"{code} cannot be its own component", f"lines.{i}")
            if (line.operation, line.component) in seen:
                raise Invalid(
                    "duplicate_line",
                    f"{line.component} at operation {line.operation} is listed twice",
                    f"lines.{i}",
                )
            seen.add((line.operation, line.component))
        conn.execute(delete(bom_lines).where(B.item_id == item.id))
        if lines:
            conn.execute(
                insert(bom_lines),
                [
                    {
                        **line.model_dump(exclude={"component"}),
                        "item_id": item.id,
                        "component_id": components[line.component],
                    }
                    for line in lines
                ],
            )
        return _bom(conn, code)

    return write(work)


def _bom(conn: Connection, code: str) -> dict[str, Any]:
    item = get(conn, select(items.c.id).where(items.c.code == code), "item", code)
    rows = conn.execute(
        select(
            B.operation,
            items.c.code.label("component"),
            B.quantity_per_unit,
            B.scrap_allowance,
            B.issue_tolerance,
        )
        .join(items, items.c.id == B.component_id)
        .where(B.item_id == item.id)
        .order_by(B.operation, items.c.code)
    )
    return {"item": code, "lines": [record(r) for r in rows]}
