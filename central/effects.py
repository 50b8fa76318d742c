"""What an applied event changes at central, in the same transaction that stores it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection

from central.db.schema import machine_states, station_totals
from central.db.upsert import upsert
from central.orders import progress

if TYPE_CHECKING:
    from central.ingest import Event


def insert_events(
    conn: Connection, edge_id: str, events: Sequence[Event], ingested_at: datetime
) -> None:
    """Store events with one DBAPI executemany.

    The hot path of ingest: SQLAlchemy's per-row bind processing cost as much as the
    insert itself, so rows are built here in the form each database stores them in
    (the same form the ``events`` table's types read back).
    """
    columns = "edge_id, seq, event_id, kind, station, source_ts, ingested_at, payload"
    if conn.dialect.name == "sqlite":

        def when(moment: datetime) -> Any:
            # SQLAlchemy's SQLite DATETIME text; isoformat is faster than strftime here
            return moment.astimezone(UTC).isoformat(" ", "microseconds")[:26]

        sql = f"INSERT INTO events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    else:

        def when(moment: datetime) -> Any:
            return moment

        sql = f"INSERT INTO events ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::json)"
    at = when(ingested_at)
    conn.exec_driver_sql(
        sql,
        [
            (
                edge_id,
                env.seq,
                env.event_id,
                env.kind,
                env.station,
                when(env.ts),
                at,
                orjson.dumps(env.payload).decode(),
            )
            for env in events
        ],
    )


def apply_effects(conn: Connection, edge_id: str, applied: Sequence[Event]) -> None:
    """Fold a run of applied events into the tables they change."""
    totals: dict[tuple[str, str, str], dict[str, Any]] = {}
    machines: dict[str, dict[str, Any]] = {}
    for env in applied:
        if env.kind == "production_report":
            p = env.payload
            key = (env.station, p["work_order"], p["operation"])
            row = totals.get(key)
            if row is None:
                row = totals[key] = {
                    "edge_id": edge_id,
                    "station": env.station,
                    "work_order": p["work_order"],
                    "operation": p["operation"],
                    "good": 0,
                    "scrap": 0,
                    "rework": 0,
                    "labour_hours": 0.0,
                    "reports": 0,
                }
            row["good"] += p["good"]
            row["scrap"] += p["scrap"]
            row["rework"] += p.get("rework", 0)
            row["labour_hours"] += p.get("labour_hours", 0.0)
            row["reports"] += 1
        elif env.kind == "machine_state":
            p = env.payload
            machines[p["machine"]] = {
                "edge_id": edge_id,
                "machine": p["machine"],
                "station": env.station,
                "state": p["state"],
                "reason": p.get("reason"),
                "since": datetime.fromisoformat(p["since"]),
                "seq": env.seq,
            }
    upsert(
        conn,
        station_totals,
        list(totals.values()),
        add=("good", "scrap", "rework", "labour_hours", "reports"),
    )
    upsert(
        conn,
        machine_states,
        list(machines.values()),
        replace=("station", "state", "reason", "since", "seq"),
    )
    progress.apply(conn, edge_id, applied)
