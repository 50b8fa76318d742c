"""List views as files: CSV streamed row by row, XLSX written by openpyxl in write-only mode.

Headers are the API's field names (references by code or name, as an import takes them
back). Money columns (credit limits, prices, amounts, and hold reasons, which can quote
credit figures) go only to those who may see them: the caller says whether, and they are
left out otherwise. A text cell a spreadsheet would take for a formula (= + - @, tab,
carriage return first) is written with a leading ' in both formats: an export is data,
never code run on the reader's machine.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Engine, Select, func, select

from central.db import reading
from central.db.crm import opportunities, quote_lines, quotes
from central.db.domain import (
    ORDER_STATES,
    contacts,
    customers,
    items,
    sales_order_lines,
    sales_orders,
    users,
)
from central.orders.errors import Invalid, NotFound

__all__ = ["LISTS", "Export", "csv_stream", "export", "xlsx_file"]

BATCH = 2000
Listed = tuple[list[Any], Select[Any]]  # the list's columns, and the query over them


@dataclass(frozen=True)
class Export:
    """One list as rows: its column names and the query giving them in order."""

    name: str
    columns: list[str]
    query: Select[Any]


def _customers(filters: dict[str, Any]) -> Listed:
    parent = customers.alias("parent")
    C = customers.c
    columns = [
        C.code,
        C.name,
        C.tax_id,
        C.email,
        C.phone,
        C.address,
        C.credit_limit_cents,
        C.payment_terms_days,
        C.territory,
        C.tier,
        users.c.name.label("owner"),
        parent.c.code.label("parent"),
        C.created_at,
    ]
    query = (
        select(*columns)
        .select_from(customers)
        .outerjoin(users, users.c.id == C.owner_id)
        .outerjoin(parent, parent.c.id == C.parent_id)
        .order_by(C.code)
    )
    return columns, query


def _contacts(filters: dict[str, Any]) -> Listed:
    K = contacts.c
    columns = [customers.c.code.label("customer"), K.id, K.name, K.role, K.email, K.phone]
    query = (
        select(*columns)
        .join(customers, customers.c.id == K.customer_id)
        .order_by(customers.c.code, K.id)
    )
    if filters.get("customer"):
        query = query.where(customers.c.code == filters["customer"])
    return columns, query


def _items(filters: dict[str, Any]) -> Listed:
    I = items.c  # noqa: E741 - the table's columns, as elsewhere
    columns = [
        I.code,
        I.description,
        I.gtin,
        I.kind,
        I.tracking,
        I.unit,
        I.price_cents,
        I.lead_time_days,
        I.warranty_months,
    ]
    return columns, select(*columns).order_by(I.code)


def _sales_orders(filters: dict[str, Any]) -> Listed:
    S, L = sales_orders.c, sales_order_lines.c
    values = (
        select(L.sales_order_id, func.sum(L.quantity * L.unit_price_cents).label("value"))
        .group_by(L.sales_order_id)
        .subquery()
    )
    columns = [
        S.number,
        customers.c.code.label("customer"),
        S.type,
        S.status,
        S.hold_reason,
        S.customer_reference,
        S.due_date,
        S.created_at,
        S.confirmed_at,
        func.round(func.coalesce(values.c.value, 0)).label("value_cents"),
    ]
    query = (
        select(*columns)
        .join(customers, customers.c.id == S.customer_id)
        .outerjoin(values, values.c.sales_order_id == S.id)
        .order_by(S.number)
    )
    if filters.get("status"):
        unknown = set(filters["status"]) - set(ORDER_STATES)
        if unknown:
            raise Invalid("unknown_status", f"no order status {sorted(unknown)}", "status")
        query = query.where(S.status.in_(filters["status"]))
    if filters.get("customer"):
        query = query.where(customers.c.code == filters["customer"])
    return columns, query


def _opportunities(filters: dict[str, Any]) -> Listed:
    O = opportunities.c  # noqa: E741 - the table's columns
    columns = [
        O.number,
        O.name,
        customers.c.code.label("customer"),
        O.stage,
        O.amount_cents,
        O.expected_close,
        users.c.name.label("owner"),
        O.source,
        O.product_line,
        O.created_at,
        O.closed_at,
    ]
    query = (
        select(*columns)
        .join(customers, customers.c.id == O.customer_id)
        .outerjoin(users, users.c.id == O.owner_id)
        .order_by(O.number)
    )
    if filters.get("customer"):
        query = query.where(customers.c.code == filters["customer"])
    return columns, query


def _quotes(filters: dict[str, Any]) -> Listed:
    Q, L = quotes.c, quote_lines.c
    values = (
        select(L.quote_id, func.sum(L.quantity * L.unit_price_cents).label("value"))
        .group_by(L.quote_id)
        .subquery()
    )
    columns = [
        Q.number,
        Q.version,
        customers.c.code.label("customer"),
        Q.status,
        Q.order_type,
        Q.valid_until,
        Q.created_at,
        func.round(func.coalesce(values.c.value, 0)).label("value_cents"),
    ]
    query = (
        select(*columns)
        .join(customers, customers.c.id == Q.customer_id)
        .outerjoin(values, values.c.quote_id == Q.id)
        .order_by(Q.number, Q.version)
    )
    if filters.get("status"):
        query = query.where(Q.status.in_(filters["status"]))
    if filters.get("customer"):
        query = query.where(customers.c.code == filters["customer"])
    return columns, query


LISTS = {
    "customers": _customers,
    "contacts": _contacts,
    "items": _items,
    "sales-orders": _sales_orders,
    "opportunities": _opportunities,
    "quotes": _quotes,
}
SALES_ONLY = frozenset(  # money, and what can quote it
    {"credit_limit_cents", "price_cents", "value_cents", "amount_cents", "hold_reason"}
)
FILTERS = {
    "customers": (),
    "contacts": ("customer",),
    "items": (),
    "sales-orders": ("status", "customer"),
    "opportunities": ("customer",),
    "quotes": ("status", "customer"),
}


def export(name: str, filters: dict[str, Any], *, money: bool) -> Export:
    """The list ``name`` with ``filters`` (only those it takes); money columns when ``money``."""
    if name not in LISTS:
        raise NotFound("list", name)
    given = {k: v for k, v in filters.items() if v}
    for key in given:
        if key not in FILTERS[name]:
            raise Invalid("unknown_filter", f"{name} cannot be filtered by {key}", key)
    columns, query = LISTS[name](given)
    shown = [c for c in columns if money or c.key not in SALES_ONLY]
    return Export(name, [str(c.key) for c in shown], query.with_only_columns(*shown))


def _rows(engine: Engine, export: Export) -> Iterator[list[Any]]:
    with reading(engine).connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(export.query)
        for partition in result.partitions():
            for row in partition:
                yield [_plain(v) for v in row]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def csv_stream(engine: Engine, export: Export) -> Iterator[bytes]:
    """The list as UTF-8 CSV with a BOM (so Excel reads it as UTF-8), a batch at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(export.columns)
    for n, row in enumerate(_rows(engine, export), start=1):
        writer.writerow(["" if v is None else _text(v) for v in row])
        if n % BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _text(value: Any) -> str:
    if isinstance(value, str):
        return _inert(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    """Text as text: a leading ' keeps a spreadsheet from reading it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def xlsx_file(engine: Engine, export: Export) -> IO[bytes]:
    """The list as an Excel workbook in a temporary file (rewound; the caller closes it)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(export.name[:31])
    sheet.append(export.columns)
    for row in _rows(engine, export):
        sheet.append([_excel(v) for v in row])
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    book.save(out)
    out.seek(0)
    return out


def _excel(value: Any) -> Any:
    # Excel has no time zones: moments are written as UTC
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, str):  # control characters an xlsx cell cannot hold are dropped
        return _inert(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value
