"""The sync spine's views: health, readiness, metrics, edges and their sync, events, dead letters.

Not behind a token yet (see docs/api.md): securing them is a later issue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from central.db import reading
from central.db.engine import MIGRATIONS
from central.db.schema import dead_letters, edge_cursors, edge_status, events, station_totals
from central.ingest_lag import BUCKETS
from central.service import CentralSync

log = logging.getLogger(__name__)

router = APIRouter()


class Metrics(Collector):
    def __init__(self, sync: CentralSync) -> None:
        self.sync = sync

    def collect(self) -> Iterator[Any]:
        totals = self.sync.ingestor.totals
        for name, value, text in (
            ("events_applied", totals.applied, "events stored and applied"),
            ("events_duplicate", totals.duplicates, "events received again and ignored"),
            ("dead_letters", totals.dead_lettered, "messages and events dead-lettered"),
            ("ingest_batches", self.sync.batches, "MQTT messages ingested"),
        ):
            yield CounterMetricFamily(f"floorsync_central_{name}", text, value=value)
        jobs = self.sync.rfm_jobs
        for name, value, text in (
            ("rfm_runs", jobs.runs, "scheduled RFM runs completed"),
            ("rfm_failures", jobs.failures, "scheduled RFM runs that failed (logged)"),
            ("replanner_runs", self.sync.replanner.runs, "predicted-finish recomputations"),
        ):
            yield CounterMetricFamily(f"floorsync_central_{name}", text, value=value)
        yield CounterMetricFamily(
            "floorsync_central_ingest_seconds",
            "time spent ingesting",
            value=self.sync.ingest_seconds,
        )
        gaps = GaugeMetricFamily(
            "floorsync_central_held_events", "events held behind a sequence gap", labels=["edge_id"]
        )
        for gap in self.sync.ingestor.gaps():
            gaps.add_metric([gap.edge_id], gap.held)
        yield gaps
        yield GaugeMetricFamily(
            "floorsync_central_mqtt_connected",
            "1 when connected",
            value=int(self.sync.client.is_connected()),
        )
        yield from self._lag()
        yield from self._edges()

    def _lag(self) -> Iterator[Any]:
        lags = self.sync.ingestor.lag.snapshot()
        histogram = HistogramMetricFamily(
            "floorsync_central_ingest_lag_seconds",
            "from an event's ts to its commit at central",
            labels=["edge_id"],
        )
        last = GaugeMetricFamily(
            "floorsync_central_edge_last_lag_seconds",
            "ingest lag of the newest event applied",
            labels=["edge_id"],
        )
        applied_at = GaugeMetricFamily(
            "floorsync_central_edge_last_applied_timestamp_seconds",
            "wall time central last applied an event of the edge",
            labels=["edge_id"],
        )
        for edge_id, lag in sorted(lags.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), lag.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            histogram.add_metric([edge_id], buckets, lag.total)
            last.add_metric([edge_id], lag.last_s)
            applied_at.add_metric([edge_id], lag.last_applied_at)
        yield from (histogram, last, applied_at)

    def _edges(self) -> Iterator[Any]:
        """Per edge from the database: applied sequence, and online as the edge last said."""
        applied = GaugeMetricFamily(
            "floorsync_central_edge_applied_seq",
            "every event of the edge up to this seq is applied or dead-lettered",
            labels=["edge_id"],
        )
        online = GaugeMetricFamily(
            "floorsync_central_edge_online",
            "1 when the edge's last status message said online",
            labels=["edge_id"],
        )
        try:
            with reading(self.sync.engine).connect() as conn:
                cursors = conn.execute(select(edge_cursors)).all()
                statuses = conn.execute(select(edge_status)).all()
        except SQLAlchemyError:
            log.exception("metrics: the database does not answer")
            up = 0
        else:
            up = 1
            for row in cursors:
                applied.add_metric([row.edge_id], row.applied_seq)
            for row in statuses:
                online.add_metric([row.edge_id], int(row.state == "online"))
        yield from (applied, online)
        yield GaugeMetricFamily(
            "floorsync_central_database_up", "1 when the database answered the scrape", value=up
        )


def registry(sync: CentralSync) -> CollectorRegistry:
    """A registry of its own per app, so two apps in one process do not collide."""
    result = CollectorRegistry()
    result.register(Metrics(sync))
    return result


def _sync(request: Request) -> CentralSync:
    sync: CentralSync = request.app.state.sync
    return sync


Sync = Annotated[CentralSync, Depends(_sync)]


@router.get("/health")
def health(sync: Sync) -> dict[str, Any]:
    with reading(sync.engine).connect() as conn:
        conn.execute(select(1))
    return {"status": "ok", **sync.health()}


@cache
def _schema_head() -> str | None:
    """The newest migration this software has (read once: it does not change)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


@router.get("/ready")
def ready(sync: Sync) -> JSONResponse:
    """Ready when the database answers at the newest schema; MQTT is reported, not required."""
    checks: dict[str, str] = {}
    try:
        with reading(sync.engine).connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
        checks["database"] = "ok"
        head = _schema_head()
        checks["schema"] = (
            "ok"
            if current == {head}
            else f"at {', '.join(sorted(current)) or 'nothing'}, this software needs {head}"
        )
    except SQLAlchemyError as exc:
        log.warning("readiness: the database does not answer", extra={"error": str(exc)})
        checks["database"] = f"does not answer ({type(exc).__name__})"
    checks["mqtt"] = "connected" if sync.client.is_connected() else "disconnected"
    ok = checks["database"] == "ok" and checks.get("schema") == "ok"
    return JSONResponse(
        {"status": "ready" if ok else "not_ready", "checks": checks},
        status_code=200 if ok else 503,
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics), media_type="text/plain; version=0.0.4"
    )


@router.get("/api/v1/edges")
def edges(sync: Sync) -> list[dict[str, Any]]:
    """Every edge central has heard of: applied sequence, events, status, held gap."""
    gaps = {g.edge_id: g for g in sync.ingestor.gaps()}
    with reading(sync.engine).connect() as conn:
        cursors = {r.edge_id: r for r in conn.execute(select(edge_cursors))}
        statuses = {r.edge_id: r for r in conn.execute(select(edge_status))}
        # Every seq up to applied_seq is stored or dead-lettered in its place: counting
        # the (few) dead letters is what keeps this fast with millions of events stored.
        rejected: dict[str, int] = dict(
            conn.execute(
                select(dead_letters.c.edge_id, func.count(dead_letters.c.seq.distinct()))
                .join(edge_cursors, edge_cursors.c.edge_id == dead_letters.c.edge_id)
                .where(dead_letters.c.seq <= edge_cursors.c.applied_seq)
                .group_by(dead_letters.c.edge_id)
            ).all()
        )
    result = []
    # An edge whose first events wait behind a gap has no cursor yet but is one to watch.
    for edge_id in sorted(set(cursors) | set(statuses) | set(gaps)):
        cursor, status, gap = cursors.get(edge_id), statuses.get(edge_id), gaps.get(edge_id)
        result.append(
            {
                "edge_id": edge_id,
                "applied_seq": cursor.applied_seq if cursor else 0,
                "events": (cursor.applied_seq if cursor else 0) - rejected.get(edge_id, 0),
                "state": status.state if status else "unknown",
                "state_since": status.since.isoformat() if status else None,
                "held_events": gap.held if gap else 0,
                "gap_for_s": round(gap.since, 1) if gap else None,
            }
        )
    return result


@router.get("/api/v1/events")
def list_events(
    sync: Sync,
    edge_id: str,
    after_seq: Annotated[int, Query(ge=0, lt=2**63)] = 0,  # seq is a signed 64-bit integer
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Stored events of one edge in sequence order."""
    query = (
        select(events)
        .where(events.c.edge_id == edge_id, events.c.seq > after_seq)
        .order_by(events.c.seq)
        .limit(limit)
    )
    with reading(sync.engine).connect() as conn:
        return [_event_json(row._mapping) for row in conn.execute(query)]


@router.get("/api/v1/dead-letters")
def list_dead_letters(
    sync: Sync, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """The newest dead-lettered messages and events, with the reason."""
    query = select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
    with reading(sync.engine).connect() as conn:
        return [
            {**row._mapping, "received_at": row.received_at.isoformat()}
            for row in conn.execute(query)
        ]


@router.get("/api/v1/station-totals")
def totals(sync: Sync) -> list[dict[str, Any]]:
    """Good / scrap / rework and labour hours per station and operation, from the floor."""
    with reading(sync.engine).connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(station_totals))]


def _event_json(row: Any) -> dict[str, Any]:
    return {
        "edge_id": row["edge_id"],
        "seq": row["seq"],
        "event_id": row["event_id"],
        "kind": row["kind"],
        "station": row["station"],
        "ts": row["source_ts"].isoformat(),
        "ingested_at": row["ingested_at"].isoformat(),
        "payload": row["payload"],
    }
