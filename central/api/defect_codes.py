"""Defect codes inspectors record, and stations check offline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import Connection, insert, select, update

from central.api.deps import Db, Paged, Write, page_of, writer
from central.api.rows import Body, Code, CodeInPath, dicts, get, record, refuse_duplicate
from central.auth import PLANNING
from central.db.domain import defect_codes

router = APIRouter(tags=["defect codes"])
PlanningWrite = Annotated[Write, Depends(writer(PLANNING))]
D = defect_codes.c


class DefectCodeFields(Body):
    description: str = Field(min_length=1, max_length=200)


class NewDefectCode(DefectCodeFields):
    code: Code


@router.get("/defect-codes")
def list_defect_codes(db: Db, page: Paged) -> dict[str, Any]:
    query = select(defect_codes).order_by(D.code).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(D.code > page.after)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query)), page, "code")


@router.post("/defect-codes", status_code=201)
def create_defect_code(body: NewDefectCode, write: PlanningWrite) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        refuse_duplicate(conn, D.code, body.code, "defect code")
        conn.execute(insert(defect_codes).values(**body.model_dump()))
        return body.model_dump()

    return write(work)


@router.get("/defect-codes/{code}")
def defect_code(code: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return record(get(conn, select(defect_codes).where(D.code == code), "defect code", code))


@router.put("/defect-codes/{code}")
def replace_defect_code(
    code: CodeInPath, body: DefectCodeFields, write: PlanningWrite
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        get(conn, select(D.code).where(D.code == code), "defect code", code)
        conn.execute(update(defect_codes).where(D.code == code).values(**body.model_dump()))
        return {"code": code, **body.model_dump()}

    return write(work)
