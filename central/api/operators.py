"""Operators by badge, with the work centers they are skilled to run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import Connection, insert, select, update

from central.api.deps import Db, Paged, Write, page_of, writer
from central.api.rows import (
    Body,
    Code,
    CodeInPath,
    codes_to_ids,
    dicts,
    get,
    record,
    refuse_duplicate,
)
from central.auth import PLANNING
from central.db.domain import operators, work_centers

router = APIRouter(tags=["operators"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]


class OperatorFields(Body):
    name: str = Field(min_length=1, max_length=200)
    skills: list[Code] = Field(
        [], max_length=100, description="codes of the work centers the operator may run"
    )


class NewOperator(OperatorFields):
    badge: Code


@router.get("/operators")
def list_operators(db: Db, page: Paged) -> dict[str, Any]:
    query = select(operators).order_by(operators.c.badge).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(operators.c.badge > page.after)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "badge")


@router.post("/operators", status_code=201)
def create_operator(body: NewOperator, write: PlanningWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        refuse_duplicate(conn, operators.c.badge, body.badge, "operator")
        _check_skills(conn, body)
        conn.execute(insert(operators).values(**body.model_dump()))
        return body.model_dump()

    return write(work)


@router.get("/operators/{badge}")
def operator(badge: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        query = select(operators).where(operators.c.badge == badge)
        return record(get(conn, query, "operator", badge))


@router.put("/operators/{badge}")
def replace_operator(
    badge: CodeInPath, body: OperatorFields, write: PlanningWrite
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        get(conn, select(operators.c.badge).where(operators.c.badge == badge), "operator", badge)
        _check_skills(conn, body)
        conn.execute(
            update(operators).where(operators.c.badge == badge).values(**body.model_dump())
        )
        return {"badge": badge, **body.model_dump()}

    return write(work)


def _check_skills(conn: Connection, body: OperatorFields) -> None:
    codes_to_ids(conn, work_centers, body.skills, "work center", "skills.{i}")
