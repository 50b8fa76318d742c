"""Rows as JSON-able dicts, and the one row a query must find; shared by domain code and the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select

from central.orders.errors import NotFound

__all__ = ["dicts", "get", "record"]


def record(row: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as a dict, without the ``drop`` columns (keys plain str, as JSON wants them)."""
    return {str(k): v for k, v in row._mapping.items() if k not in drop}


def dicts(rows: Iterable[Any], drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [record(row, drop) for row in rows]


def get(conn: Connection, query: Select[Any], what: str, key: object) -> Any:
    """The one row ``query`` finds, or 404 naming ``what`` and ``key``."""
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(what, key)
    return row
