"""Work centers: identical machines in parallel, their calendar, and where on the floor they are.

``edge_id`` names the edge node a work center's operations are dispatched to, and
``stations`` the stations at it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field, field_validator
from sqlalchemy import Connection, insert, select, update

from central.api.deps import Db, Paged, Write, page_of, writer
from central.api.rows import (
    Body,
    Code,
    CodeInPath,
    codes_to_ids,
    get,
    id_of,
    record,
    refuse_duplicate,
)
from central.auth import PLANNING
from central.db.domain import calendars, work_centers
from protocols.contract import ContractError, EdgeAddress

router = APIRouter(tags=["work centers"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]
MAX_MACHINES = 100  # identical machines in one work center; more is a second work center
MAX_STATIONS = 100
W = work_centers.c


class WorkCenterFields(Body):
    name: str = Field(min_length=1, max_length=200)
    # The scheduler keeps one load timeline per machine: an unbounded capacity (the
    # schema fuzz sent 10**9) made a schedule run grow past 20 GB.
    capacity: int = Field(
        1, ge=1, le=MAX_MACHINES, description="identical machines working in parallel"
    )
    calendar: Code | None = None
    edge_id: str | None = Field(
        None, max_length=200, description="site/area/line/edge of its edge node"
    )
    stations: list[Code] = Field([], max_length=MAX_STATIONS)

    @field_validator("edge_id")
    @classmethod
    def _edge_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = value.split("/")
        if len(parts) != 4:
            raise ValueError("an edge id is site/area/line/edge")
        try:
            EdgeAddress(*parts)
        except ContractError as exc:
            raise ValueError(str(exc)) from None
        return value


class NewWorkCenter(WorkCenterFields):
    code: Code


@router.get("/work-centers")
def list_work_centers(db: Db, page: Paged) -> dict[str, Any]:
    query = _select().order_by(W.code).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(W.code > page.after)
    with db.connect() as conn:
        return page_of([record(r) for r in conn.execute(query)], page, "code")


@router.post("/work-centers", status_code=201)
def create_work_center(body: NewWorkCenter, write: PlanningWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        refuse_duplicate(conn, W.code, body.code, "work center")
        conn.execute(insert(work_centers).values(**_values(conn, body)))
        return _detail(conn, body.code)

    return write(work)


@router.get("/work-centers/{code}")
def work_center(code: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return _detail(conn, code)


@router.put("/work-centers/{code}")
def replace_work_center(
    code: CodeInPath, body: WorkCenterFields, write: PlanningWrite
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        center_id = id_of(conn, work_centers, W.code, code, "work center")
        conn.execute(update(work_centers).where(W.id == center_id).values(**_values(conn, body)))
        return _detail(conn, code)

    return write(work)


def _values(conn: Connection, body: WorkCenterFields) -> dict[str, Any]:
    calendar_id = None
    if body.calendar is not None:
        calendar_id = codes_to_ids(conn, calendars, [body.calendar], "calendar", "calendar")[
            body.calendar
        ]
    return {**body.model_dump(exclude={"calendar"}), "calendar_id": calendar_id}


def _select() -> Any:
    return select(
        W.code,
        W.name,
        W.capacity,
        calendars.c.code.label("calendar"),
        W.edge_id,
        W.stations,
    ).outerjoin(calendars, calendars.c.id == W.calendar_id)


def _detail(conn: Connection, code: str) -> dict[str, Any]:
    return record(get(conn, _select().where(W.code == code), "work center", code))
