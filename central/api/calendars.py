"""Calendars: the shifts of each weekday and the holidays a work center keeps."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import Connection, insert, select, update

from central.api.deps import Db, Paged, Write, page_of, writer
from central.api.rows import Body, Code, CodeInPath, dicts, get, id_of, record, refuse_duplicate
from central.auth import PLANNING
from central.db.domain import calendars

router = APIRouter(tags=["calendars"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]
K = calendars.c
CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class Shift(Body):
    weekday: int = Field(ge=0, le=6, description="0 is Monday")
    start: str = Field(pattern=CLOCK, examples=["06:00"])
    end: str = Field(pattern=CLOCK, description="before start: the shift ends the next day")


class CalendarFields(Body):
    # three shifts a day and a century of public holidays are plenty; the scheduler walks
    # both for every day it plans
    shifts: list[Shift] = Field(max_length=21)
    holidays: list[date] = Field([], max_length=2_000)


class NewCalendar(CalendarFields):
    code: Code


@router.get("/calendars")
def list_calendars(db: Db, page: Paged) -> dict[str, Any]:
    query = select(calendars).order_by(K.code).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(K.code > page.after)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query), drop=("id",)), page, "code")


@router.post("/calendars", status_code=201)
def create_calendar(body: NewCalendar, write: PlanningWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        refuse_duplicate(conn, K.code, body.code, "calendar")
        conn.execute(insert(calendars).values(code=body.code, **_values(body)))
        return _detail(conn, body.code)

    return write(work)


@router.get("/calendars/{code}")
def calendar(code: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return _detail(conn, code)


@router.put("/calendars/{code}")
def replace_calendar(
    code: CodeInPath, body: CalendarFields, write: PlanningWrite
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        calendar_id = id_of(conn, calendars, K.code, code, "calendar")
        conn.execute(update(calendars).where(K.id == calendar_id).values(**_values(body)))
        return _detail(conn, code)

    return write(work)


def _values(body: CalendarFields) -> dict[str, Any]:
    data = body.model_dump(mode="json")
    return {"shifts": data["shifts"], "holidays": sorted(set(data["holidays"]))}


def _detail(conn: Connection, code: str) -> dict[str, Any]:
    row = get(conn, select(calendars).where(K.code == code), "calendar", code)
    return record(row, drop=("id",))
