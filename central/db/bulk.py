"""Insert many rows in one statement: on PostgreSQL as arrays through ``unnest``.

SQLAlchemy's executemany on psycopg processes each row's binds and sends one INSERT per
row (pipelined); for the rows a batch of floor events writes (consumption, inspections,
stock moves) one ``INSERT ... SELECT FROM unnest(arrays)`` cost about a third less in
``floorsync bench ingest``. (The events themselves go through a raw executemany, which
measured faster than unnest for them: see central.effects.insert_events.)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    insert,
)

_PG_TYPES = (
    (Boolean, "boolean"),
    (BigInteger, "bigint"),
    (Integer, "bigint"),
    (Float, "float8"),
    (DateTime, "timestamptz"),
    (Date, "date"),
    (JSON, "json"),
    (String, "text"),
    (Text, "text"),
)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    columns = tuple(rows[0])
    sql, is_json = _unnest_insert(table, columns)
    arrays = []
    for column, as_json in zip(columns, is_json, strict=True):
        values = [row[column] for row in rows]
        if as_json:
            values = [None if v is None else orjson.dumps(v).decode() for v in values]
        arrays.append(values)
    conn.exec_driver_sql(sql, tuple(arrays))


@functools.cache
def _unnest_insert(table: Table, columns: tuple[str, ...]) -> tuple[str, tuple[bool, ...]]:
    casts, is_json = [], []
    for name in columns:
        column_type = table.c[name].type
        impl = getattr(column_type, "impl", column_type)  # TypeDecorator -> what it stores
        pg = next(pg for kind, pg in _PG_TYPES if isinstance(impl, kind))
        casts.append(f"%s::{pg}[]")
        is_json.append(pg == "json")
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({', '.join(casts)})"
    )
    return sql, tuple(is_json)
