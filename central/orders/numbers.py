"""Document numbers people read and scan: SO-000123, WO-000456, SH-000007, INV-000042."""

from __future__ import annotations

from sqlalchemy import Connection, insert, update

from central.db.domain import number_series

SERIES = {"sales_order": "SO", "production_order": "WO", "shipment": "SH", "invoice": "INV"}


def next_number(conn: Connection, series: str) -> str:
    """The next number of a series, taken in the caller's transaction (so never reused)."""
    prefix = SERIES[series]
    # UPDATE first: on PostgreSQL it locks the row, so concurrent takers queue up.
    result = conn.execute(
        update(number_series)
        .where(number_series.c.series == prefix)
        .values(last=number_series.c.last + 1)
        .returning(number_series.c.last)
    ).first()
    if result is None:
        conn.execute(insert(number_series).values(series=prefix, last=1))
        last = 1
    else:
        last = result[0]
    return f"{prefix}-{last:06d}"
