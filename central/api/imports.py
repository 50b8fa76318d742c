"""Imports of customers, contacts, items and open orders from CSV / Excel files (preview,
then run in the background), and exports of the list views as CSV or Excel."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy import select

from central.api.deps import MAX_ID, CurrentUser, Db, PagedById, Write, page_of, writer
from central.api.errors import Forbidden
from central.api.rows import Body, dicts
from central.auth import PLANNING, SALES, User
from central.crm import exports, imports
from central.db.crm import IMPORT_KINDS, import_jobs
from central.orders.errors import Invalid
from protocols.api import ApiError

router = APIRouter(tags=["import and export"])
ImportWrite = Annotated[Write, Depends(writer(tuple(dict.fromkeys(SALES + PLANNING))))]
MAX_FILE_BYTES = 64 * 1024 * 1024
ROLES = {"customers": SALES, "contacts": SALES, "open_orders": SALES, "items": PLANNING}
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]

_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "kind"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "kind": {"type": "string", "enum": list(IMPORT_KINDS)},
                        "mapping": {
                            "type": "string",
                            "description": "JSON object: file column -> field; "
                            "left out, one is proposed from the headers",
                        },
                        "only_good_rows": {"type": "boolean", "default": False},
                    },
                }
            }
        },
    }
}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    kind: str
    mapping: dict[str, str] | None
    only_good_rows: bool


async def _upload(request: Request) -> Upload:
    """The multipart form (python-multipart, through Starlette), the file read whole."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise Invalid("not_multipart", "send the file as multipart/form-data", "file")
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid("missing_file", "the form needs a file", "file")
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ApiError(
                413, "too_large", f"a file may have {MAX_FILE_BYTES // 2**20} MiB at most"
            )

        def field(name: str) -> bytes:
            value = form.get(name)
            return value.encode() if isinstance(value, str) else b""

        kind = field("kind").decode("utf-8", "replace").strip()
        if kind not in IMPORT_KINDS:
            raise Invalid("unknown_kind", f"kind is one of {', '.join(IMPORT_KINDS)}", "kind")
        return Upload(
            filename=upload.filename or "upload",
            data=data,
            kind=kind,
            mapping=_mapping(field("mapping")),
            only_good_rows=_flag(field("only_good_rows")),
        )


def _mapping(raw: bytes) -> dict[str, str] | None:
    if not raw.strip():
        return None
    try:
        mapping = orjson.loads(raw)
    except orjson.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
    ):
        raise Invalid("invalid_mapping", "mapping is a JSON object: column -> field", "mapping")
    return {k: v for k, v in mapping.items() if v}


def _flag(raw: bytes) -> bool:
    value = raw.decode("utf-8", "replace").strip().lower()
    if value in ("", "false", "0", "off", "no"):
        return False
    if value in ("true", "1", "on", "yes"):
        return True
    raise Invalid("invalid_flag", "only_good_rows is true or false", "only_good_rows")


def _may_import(user: User, kind: str) -> None:
    if not user.may(ROLES[kind]):
        raise Forbidden(f"importing {kind}", ROLES[kind])


class RunOptions(Body):
    only_good_rows: bool | None = Field(
        None, description="import the good rows and pass over the bad; left out: as uploaded"
    )


@router.post("/imports", status_code=201, openapi_extra=_FORM)
def upload(write: ImportWrite, db: Db, form: Annotated[Upload, Depends(_upload)]) -> Any:
    """Read, map and check a file; nothing is written but the job (status previewed)."""
    _may_import(write.user, form.kind)
    sheet = imports.read_sheet(form.data, form.filename)
    mapping = imports.mapping_for(form.kind, sheet, form.mapping)
    with db.connect() as conn:
        checked = imports.examine(conn, form.kind, sheet, mapping)
    answer = write(
        lambda conn: imports.record_preview(
            conn,
            kind=form.kind,
            filename=form.filename,
            sheet=sheet,
            mapping=mapping,
            checked=checked,
            only_good_rows=form.only_good_rows,
            user_id=write.user.id,
            now=write.now,
        )
    )
    imports.keep(answer["id"], form.filename, form.data)
    return answer


@router.post("/imports/{job_id}/run", status_code=202)
def run(job_id: JobId, write: ImportWrite, body: RunOptions | None = None) -> dict[str, Any]:
    """Write the good rows in the background (202 at once; follow ``GET /imports/{id}``).
    With a bad row and not ``only_good_rows``: 409 ``bad_rows``, nothing written."""
    return imports.start(
        write.engine,
        job_id,
        only_good_rows=None if body is None else body.only_good_rows,
        may=lambda kind: _may_import(write.user, kind),
    )


@router.get("/imports")
def list_imports(db: Db, page: PagedById) -> dict[str, Any]:
    """Import jobs, newest first, without their errors."""
    query = select(import_jobs).order_by(import_jobs.c.id.desc()).limit(page.limit + 1)
    if page.after is not None:
        query = query.where(import_jobs.c.id < page.after)
    with db.connect() as conn:
        return page_of(dicts(conn.execute(query), drop=("errors",)), page, "id")


@router.get("/imports/{job_id}")
def import_job(
    job_id: JobId,
    db: Db,
    after: Annotated[int, Query(ge=0, description="errors from this position")] = 0,
    limit: Annotated[int, Query(ge=0, le=500, description="errors per page")] = 100,
) -> dict[str, Any]:
    """Status, total, done, imported, good and bad rows, and a page of the bad rows."""
    with db.connect() as conn:
        answer = imports.job(conn, job_id, after=after, limit=limit)
    # another central process may be running it: failed only once done stands still
    if answer["status"] == "running" and imports.stalled(job_id, answer["done"]):
        imports.interrupted(db, job_id, answer["done"])
        with db.connect() as conn:
            answer = imports.job(conn, job_id, after=after, limit=limit)
    return answer


@router.get("/exports/{name}")
def export(
    name: Literal["customers", "contacts", "items", "sales-orders", "opportunities", "quotes"],
    db: Db,
    user: CurrentUser,
    format: Literal["csv", "xlsx"] = "csv",
    status: Annotated[list[str] | None, Query(max_length=32)] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
) -> StreamingResponse:
    """A list view as a file, with the list's filters; credit limits, prices and amounts
    only for sales and admin (the columns are left out for others)."""
    chosen = exports.export(name, {"status": status, "customer": customer}, money=user.may(SALES))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    disposition = {"Content-Disposition": f'attachment; filename="{name}-{stamp}.{format}"'}
    if format == "csv":
        return StreamingResponse(
            exports.csv_stream(db, chosen),
            media_type="text/csv; charset=utf-8",
            headers=disposition,
        )
    return StreamingResponse(
        _file_chunks(exports.xlsx_file(db, chosen)),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=disposition,
    )


def _file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while chunk := file.read(256 * 1024):
            yield chunk
