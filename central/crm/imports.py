"""Import jobs: a file previewed (read, mapped, every row checked; nothing written), then run
in the background as one transaction, its progress readable while it goes.

    preview   read_sheet -> mapping (given or proposed) -> examine (checks in memory)
              -> record (the job row, status previewed); the file is kept in memory
    start     refused (409 import_running) while another import of the kind runs; the file
              checked again against what the database holds now: bad rows and not
              only_good_rows -> refused (409 bad_rows); else running, and a thread
    _run      in one transaction: the file checked a third time, against what the database
              holds inside it (a row good at start and bad now fails the job: another
              import or a user wrote meanwhile), then every good row written and the job
              marked done, so a failure leaves nothing behind but the job marked failed
              with the reason

Progress (``done``) lives in this process while a job runs, which is what ``job`` reads;
on PostgreSQL it is also committed every chunk through a short transaction of its own.
(On SQLite the import's transaction holds the file's one write lock, so a second writer
would only wait for it: there the row learns ``done`` when the import commits.)

A job another central process runs is declared failed (``interrupted``) only once its
``done`` has not moved for ``STALLED`` as seen from here (``stalled``): import_jobs keeps
no time of the last progress, so this process remembers when it saw each count first.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from central.crm.import_files import Sheet, propose_mapping, read_sheet
from central.crm.import_rows import FIELDS, Checked, ItemFacts, Known, check, synonyms
from central.crm.names import name_key
from central.db import reading, writing
from central.db.bulk import insert_rows
from central.db.crm import import_jobs
from central.db.domain import contacts, customers, items, sales_orders, users
from central.db.rows import get, record
from central.orders import sales
from central.orders.errors import Conflict, Invalid

__all__ = [
    "CHUNK",
    "PREVIEW_ROWS",
    "STALLED",
    "examine",
    "forget",
    "interrupted",
    "job",
    "keep",
    "mapping_for",
    "read_sheet",
    "record_preview",
    "running_here",
    "stalled",
    "start",
]

log = logging.getLogger(__name__)

CHUNK = 2500  # rows per INSERT batch, and how often progress is told
PREVIEW_ROWS = 20
ERRORS_PAGE = 500
J = import_jobs.c

# The uploaded files between preview and run, newest last; bounded, lost on restart.
_UPLOADS: OrderedDict[int, tuple[str, bytes]] = OrderedDict()
_UPLOADS_MAX_BYTES = 512 * 1024 * 1024
_PROGRESS: dict[int, int] = {}  # job id -> rows written so far, while it runs here
_LOCK = threading.Lock()
STALLED = 300.0  # seconds a job running elsewhere may show the same done before it is failed
_SEEN: dict[int, tuple[int, float]] = {}  # job running elsewhere -> (done, when first seen)


def mapping_for(kind: str, sheet: Sheet, given: dict[str, str] | None) -> dict[str, str]:
    """The mapping given (checked against the file and the kind's fields), or one proposed."""
    if given is None:
        return propose_mapping(sheet.headers, synonyms(kind))
    fields = {f.name for f in FIELDS[kind]}
    mapping = {column: field for column, field in given.items() if field}
    for column, field in mapping.items():
        if column not in sheet.headers:
            raise Invalid("unknown_column", f"the file has no column {column!r}", "mapping")
        if field not in fields:
            known = ", ".join(sorted(fields))
            raise Invalid("unknown_field", f"{kind} have no field {field!r}: {known}", "mapping")
    doubled = {f for f in mapping.values() if list(mapping.values()).count(f) > 1}
    if doubled:
        raise Invalid(
            "field_mapped_twice", f"mapped from two columns: {sorted(doubled)}", "mapping"
        )
    return mapping


def examine(conn: Connection, kind: str, sheet: Sheet, mapping: dict[str, str]) -> Checked:
    """Every row checked against what the database holds (read once, into sets)."""
    return check(kind, sheet, mapping, _known(conn, kind))


def record_preview(
    conn: Connection,
    *,
    kind: str,
    filename: str,
    sheet: Sheet,
    mapping: dict[str, str],
    checked: Checked,
    only_good_rows: bool,
    user_id: int,
    now: datetime,
) -> dict[str, Any]:
    """The job row (status previewed) and the preview: fields, mapping, first rows, errors."""
    job_id = conn.execute(
        import_jobs.insert().values(
            kind=kind,
            status="previewed",
            filename=filename[:200],
            mapping=mapping,
            only_good_rows=only_good_rows,
            total=len(sheet.rows),
            done=0,
            imported=0,
            errors=checked.errors,
            created_by=user_id,
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return {
        **job(conn, job_id, limit=ERRORS_PAGE),
        "columns": sheet.headers,
        "fields": [{"name": f.name, "required": f.required} for f in FIELDS[kind]],
        "rows": [{"row": n, **values} for n, values in checked.rows[:PREVIEW_ROWS]],
    }


def keep(job_id: int, filename: str, data: bytes) -> None:
    """Hold the uploaded file until the job runs (the oldest give way past a bound)."""
    with _LOCK:
        _UPLOADS[job_id] = (filename, data)
        while sum(len(d) for _, d in _UPLOADS.values()) > _UPLOADS_MAX_BYTES and len(_UPLOADS) > 1:
            _UPLOADS.popitem(last=False)


def forget(job_id: int) -> None:
    with _LOCK:
        _UPLOADS.pop(job_id, None)


def job(
    conn: Connection, job_id: int, *, after: int = 0, limit: int = ERRORS_PAGE
) -> dict[str, Any]:
    """A job's status and counts, with a page of its bad rows from position ``after``."""
    row = get(conn, select(import_jobs).where(J.id == job_id), "import", job_id)
    answer = record(row, drop=("errors",))
    if row.status != "running":
        _SEEN.pop(row.id, None)
    running = _PROGRESS.get(row.id)
    if row.status == "running" and running is not None:
        answer["done"] = max(running, row.done)
    errors = row.errors
    bad_rows = {e["row"] for e in errors if e.get("row") is not None}
    unmapped = any(e.get("row") is None and e.get("field") for e in errors)
    bad = row.total if unmapped else len(bad_rows)
    page = errors[after : after + limit]
    answer.update(
        good=row.total - bad,
        bad=bad,
        errors={"items": page, "next": after + limit if after + limit < len(errors) else None},
        error_count=len(errors),
    )
    return answer


def running_here(job_id: int) -> bool:
    return job_id in _PROGRESS


def stalled(job_id: int, done: int, now: float | None = None) -> bool:
    """Whether a job that says running, and runs not here, has shown ``done`` for
    ``STALLED`` seconds or more as seen from this process (``now``: time.monotonic)."""
    if running_here(job_id):
        return False
    now = time.monotonic() if now is None else now
    with _LOCK:
        seen = _SEEN.get(job_id)
        if seen is None or seen[0] != done:
            _SEEN[job_id] = (done, now)
            return False
        return now - seen[1] >= STALLED


def interrupted(engine: Engine, job_id: int, done: int) -> None:
    """Mark a job that says running with ``done`` rows, and has not moved since (its process
    stopped), as failed: its transaction never committed, so nothing of it was written."""
    reason = {"row": None, "field": None, "message": "central stopped during the import"}
    with writing(engine).begin() as conn:
        row = conn.execute(select(J.status, J.done, J.errors).where(J.id == job_id)).first()
        if row is None or row.status != "running" or row.done != done or running_here(job_id):
            return
        conn.execute(
            update(import_jobs)
            .where(J.id == job_id)
            .values(
                status="failed", done=0, errors=[*row.errors, reason], finished_at=datetime.now(UTC)
            )
        )
    with _LOCK:
        _SEEN.pop(job_id, None)


def start(
    engine: Engine, job_id: int, *, only_good_rows: bool | None, may: Callable[[str], None]
) -> dict[str, Any]:
    """Check the job's file again and start writing it in a thread (or refuse: 409)."""
    with reading(engine).connect() as conn:
        row = get(conn, select(import_jobs).where(J.id == job_id), "import", job_id)
    may(row.kind)
    if row.status not in ("previewed", "refused", "failed"):
        raise Conflict("not_runnable", f"import {job_id} is {row.status}")
    with _LOCK:
        upload = _UPLOADS.get(job_id)
    if upload is None:
        raise Conflict("upload_gone", "the file is no longer held: upload it again", "file")
    only_good = row.only_good_rows if only_good_rows is None else only_good_rows
    sheet = read_sheet(upload[1], upload[0])
    with reading(engine).connect() as conn:
        checked = examine(conn, row.kind, sheet, row.mapping)
    with writing(engine).begin() as conn:
        _one_at_a_time(conn, row.kind)
        running = conn.execute(
            select(J.id).where(J.kind == row.kind, J.status == "running", J.id != job_id)
        ).scalar()
        if running is not None:
            raise Conflict(
                "import_running", f"import {running} of {row.kind} is running: wait for it to end"
            )
        if checked.bad and not only_good:
            conn.execute(
                update(import_jobs)
                .where(J.id == job_id)
                .values(status="refused", errors=checked.errors, only_good_rows=False)
            )
        else:
            claimed = conn.execute(
                update(import_jobs)
                .where(J.id == job_id, J.status.in_(("previewed", "refused", "failed")))
                .values(
                    status="running",
                    errors=checked.errors,
                    only_good_rows=only_good,
                    total=len(sheet.rows),
                    done=0,
                    imported=0,
                    finished_at=None,
                )
            ).rowcount
            if claimed != 1:
                raise Conflict("not_runnable", f"import {job_id} started meanwhile")
            _PROGRESS[job_id] = 0
    if checked.bad and not only_good:
        raise Conflict(
            "bad_rows",
            f"{checked.bad} of {len(sheet.rows)} rows are bad:"
            " fix them, or import only the good rows",
        )
    threading.Thread(
        target=_run,
        args=(engine, job_id, row.kind, sheet, row.mapping, checked),
        name=f"import-{job_id}",
        daemon=True,
    ).start()
    with reading(engine).connect() as conn:
        return job(conn, job_id, limit=0)


def _one_at_a_time(conn: Connection, kind: str) -> None:
    """Hold the kind's lock until ``conn`` commits, so two starts never both see none running.
    (SQLite: the write lock every writing transaction takes at BEGIN does it already.)"""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"import:{kind}".encode()))))


class _BecameBad(Exception):
    def __init__(self, checked: Checked, rows: list[int]) -> None:
        shown = ", ".join(str(n) for n in rows[:10]) + (", ..." if len(rows) > 10 else "")
        super().__init__(
            f"{len(rows)} rows good when the import started are bad now (rows {shown}):"
            " the database changed meanwhile; check the file again"
        )
        self.checked = checked


def _run(
    engine: Engine, job_id: int, kind: str, sheet: Sheet, mapping: dict[str, str], at_start: Checked
) -> None:
    now = datetime.now(UTC)
    total = len(sheet.rows)
    bad = total - at_start.good
    good_at_start = {n for n, _ in at_start.rows}

    def progress(written: int) -> None:
        _PROGRESS[job_id] = bad + written  # bad rows count as done: they are passed over
        if engine.dialect.name != "sqlite":
            with engine.begin() as conn:
                conn.execute(update(import_jobs).where(J.id == job_id).values(done=bad + written))

    try:
        with writing(engine).begin() as conn:
            # checked again inside the transaction that writes: what start saw may be stale
            known = _known(conn, kind)
            checked = check(kind, sheet, mapping, known)
            good_now = {n for n, _ in checked.rows}
            became_bad = sorted(good_at_start - good_now)
            if became_bad:
                raise _BecameBad(checked, became_bad)
            rows = [(n, r) for n, r in checked.rows if n in good_at_start]
            imported = _WRITERS[kind](conn, rows, known, progress, now)
            conn.execute(
                update(import_jobs)
                .where(J.id == job_id)
                .values(status="done", done=total, imported=imported, finished_at=datetime.now(UTC))
            )
        forget(job_id)
    except Exception as exc:  # any failure: all rolled back, and the job says why
        reason = {"row": None, "field": None, "message": f"nothing imported: {exc}"[:1000]}
        if isinstance(exc, _BecameBad):
            log.warning("import %s failed: %s", job_id, exc)
        else:
            log.exception("import %s failed", job_id)
        with writing(engine).begin() as conn:
            if isinstance(exc, _BecameBad):
                errors = exc.checked.errors
            else:
                errors = conn.execute(select(J.errors).where(J.id == job_id)).scalar_one()
            conn.execute(
                update(import_jobs)
                .where(J.id == job_id)
                .values(status="failed", done=0, errors=[*errors, reason], finished_at=now)
            )
    finally:
        _PROGRESS.pop(job_id, None)


def _known(conn: Connection, kind: str) -> Known:
    known = Known()
    known.customers = {r.code: r.id for r in conn.execute(select(customers.c.code, customers.c.id))}
    if kind == "customers":
        known.users = {r.name: r.id for r in conn.execute(select(users.c.name, users.c.id))}
    if kind in ("items", "open_orders"):
        query = select(items.c.code, items.c.id, items.c.kind, items.c.gtin)
        for r in conn.execute(query):
            known.items[r.code] = ItemFacts(r.id, r.kind)
            if r.gtin is not None:
                known.gtins.add(r.gtin)
    if kind == "contacts":
        query = select(customers.c.code, contacts.c.name).join(
            customers, customers.c.id == contacts.c.customer_id
        )
        known.contacts = {(r.code, r.name.casefold()) for r in conn.execute(query)}
    if kind == "open_orders":
        query = (
            select(customers.c.code, sales_orders.c.customer_reference, sales_orders.c.number)
            .join(customers, customers.c.id == sales_orders.c.customer_id)
            .where(sales_orders.c.customer_reference.is_not(None))
        )
        known.orders = {(r.code, r.customer_reference): r.number for r in conn.execute(query)}
    return known


Rows = list[tuple[int, dict[str, Any]]]
Progress = Callable[[int], None]


def _chunks(rows: Rows) -> Iterable[Rows]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _write_customers(
    conn: Connection, rows: Rows, known: Known, progress: Progress, now: datetime
) -> int:
    written = 0
    parents: list[dict[str, Any]] = []
    for chunk in _chunks(rows):
        batch = []
        for _, r in chunk:
            batch.append(
                {
                    "code": r["code"],
                    "name": r["name"],
                    # a raw insert on PostgreSQL (insert_rows): no column default fills it
                    "name_key": name_key(r["name"]),
                    "tax_id": r.get("tax_id"),
                    "email": r.get("email"),
                    "phone": r.get("phone"),
                    "address": r.get("address"),
                    "credit_limit_cents": r.get("credit_limit_cents"),
                    "payment_terms_days": r.get("payment_terms_days") or 30,
                    "territory": r.get("territory"),
                    "tier": r.get("tier"),
                    "owner_id": known.users.get(r.get("owner") or ""),
                    "created_at": now,
                }
            )
            if r.get("parent"):
                parents.append({"b_code": r["code"], "b_parent": r["parent"]})
        insert_rows(conn, customers, batch)
        written += len(chunk)
        progress(written)
    if parents:
        ids = {r.code: r.id for r in conn.execute(select(customers.c.code, customers.c.id))}
        for p in parents:
            p["b_parent"] = ids[p["b_parent"]]
        conn.execute(
            update(customers)
            .where(customers.c.code == bindparam("b_code"))
            .values(parent_id=bindparam("b_parent")),
            parents,
        )
    return written


def _write_contacts(
    conn: Connection, rows: Rows, known: Known, progress: Progress, now: datetime
) -> int:
    written = 0
    for chunk in _chunks(rows):
        batch = [
            {
                "customer_id": known.customers[r["customer"]],
                "name": r["name"],
                "role": r.get("role"),
                "email": r.get("email"),
                "phone": r.get("phone"),
            }
            for _, r in chunk
        ]
        insert_rows(conn, contacts, batch)
        written += len(chunk)
        progress(written)
    return written


def _write_items(
    conn: Connection, rows: Rows, known: Known, progress: Progress, now: datetime
) -> int:
    written = 0
    for chunk in _chunks(rows):
        batch = [
            {
                "code": r["code"],
                "description": r["description"],
                "gtin": r.get("gtin"),
                "kind": r["kind"],
                "tracking": r.get("tracking") or "none",
                "unit": r.get("unit") or "pcs",
                "price_cents": r.get("price_cents") or 0,
                "lead_time_days": r.get("lead_time_days") or 0,
                "warranty_months": 12 if r.get("warranty_months") is None else r["warranty_months"],
            }
            for _, r in chunk
        ]
        insert_rows(conn, items, batch)
        written += len(chunk)
        progress(written)
    return written


def _write_open_orders(
    conn: Connection, rows: Rows, known: Known, progress: Progress, now: datetime
) -> int:
    """One draft sales order per customer and order reference, its rows as lines in order."""
    orders: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _, r in rows:
        orders.setdefault((r["customer"], r["order"]), []).append(r)
    written = told = 0
    for (_, reference), lines in orders.items():
        first = lines[0]
        sales.create(
            conn,
            customer=first["customer"],
            type=first["type"],
            lines=[
                {
                    "item": line["item"],
                    "quantity": line["quantity"],
                    "unit_price_cents": line.get("unit_price_cents"),
                    "technical_specs": (
                        {"text": line["technical_specs"]} if line.get("technical_specs") else None
                    ),
                }
                for line in lines
            ],
            now=now,
            due_date=first.get("due_date"),
            customer_reference=reference,
        )
        written += len(lines)
        if written - told >= CHUNK:
            progress(written)
            told = written
    progress(written)
    return written


_WRITERS: dict[str, Callable[[Connection, Rows, Known, Progress, datetime], int]] = {
    "customers": _write_customers,
    "contacts": _write_contacts,
    "items": _write_items,
    "open_orders": _write_open_orders,
}
