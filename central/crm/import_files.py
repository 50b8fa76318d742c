"""Spreadsheets as plain rows: a CSV or XLSX file read into headers and text cells, and the
column mapping proposed from its headers.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row 2;
blank rows are skipped but still counted, so a number points at the line people see.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from openpyxl import load_workbook

from central.orders.errors import Invalid

__all__ = ["Sheet", "normalise", "propose_mapping", "read_sheet"]

MAX_COLUMNS = 200
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, one text cell per header; "" when empty)


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The first sheet of an XLSX file, or a CSV file (``;`` or ``,``, UTF-8 with or without
    BOM, Windows-1252 as a last resort); 422 ``unreadable_file`` when it is neither."""
    if not data.strip():
        raise Invalid("empty_file", "the file is empty", "file")
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        cells = _xlsx_rows(data)
    else:
        cells = _csv_rows(_decode(data))
    numbered = ((n, row) for n, row in cells if any(c.strip() for c in row))
    first = next(numbered, None)
    if first is None:
        raise Invalid("empty_file", "the file has no header row", "file")
    headers = _headers(first[1])
    width = len(headers)
    rows = [(n, _fit([c.strip() for c in row], width)) for n, row in numbered]
    return Sheet(headers, rows)


def normalise(header: str) -> str:
    """A header as matched against field names: "E-Mail" and "e_mail" are both "email"."""
    folded = unicodedata.normalize("NFKC", header).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def propose_mapping(headers: list[str], synonyms: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """File column -> field for each header that names a field (by the field's own name or a
    synonym, after ``normalise``); each field once, the leftmost column wins."""
    by_name: dict[str, str] = {}
    for field, names in synonyms.items():
        for name in (field, *names):
            by_name.setdefault(normalise(name), field)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        found = by_name.get(normalise(header))
        if found is not None and found not in taken:
            mapping[header] = found
            taken.add(found)
    return mapping


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # what Excel on Windows writes as "CSV" in western Europe
        return data.decode("cp1252", errors="replace")


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            # a quoted cell may span lines: the row's number is where it started
            yield reader.line_num - _extra_lines(row), row
    except csv.Error as exc:
        raise Invalid("unreadable_file", f"not a CSV file: {exc}", "file") from exc


def _extra_lines(row: list[str]) -> int:
    return sum(cell.count("\n") for cell in row)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Invalid("unreadable_file", f"not an Excel (.xlsx) file: {exc}", "file") from exc
    try:
        sheet = book.worksheets[0]
        rows = [
            (n, [_cell_text(v) for v in values])
            for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    yield from rows


def _cell_text(value: object) -> str:
    """An Excel cell as the text a CSV of it would hold (1001.0 is "1001", dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _headers(cells: list[str]) -> list[str]:
    if len(cells) > MAX_COLUMNS:
        raise Invalid("too_many_columns", f"more than {MAX_COLUMNS} columns", "file")
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    headers: list[str] = []
    for i, cell in enumerate(cells, start=1):
        name = cell.strip() or f"column {i}"
        if name in headers:  # a mapping names columns by header: each must be unique
            name = f"{name} ({i})"
        headers.append(name)
    return headers


def _fit(cells: list[str], width: int) -> list[str]:
    return cells[:width] + [""] * (width - len(cells))
