"""Document numbers people read and scan: SO-2026-000123, WO-2026-000456, SH-..., INV-...

The year is the year of issue; the count runs on across years, so a number is never
issued twice. Work orders follow the edge's default scan pattern (``WO-\\d{4}-\\d{6}``),
so a traveller printed with its number scans at the station.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, update

from central.db.domain import number_series

SERIES = {
    "sales_order": "SO",
    "production_order": "WO",
    "shipment": "SH",
    "invoice": "INV",
    "ticket": "TK",
    "repair_order": "RO",
    "lead": "LD",
    "opportunity": "OP",
    "quote": "QT",
}


def next_number(conn: Connection, series: str, now: datetime) -> str:
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
    return f"{prefix}-{now.year}-{last:06d}"
