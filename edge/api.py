"""The edge's HTTP API: health, status, metrics, the dispatch list, and recording station events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from edge.node import EdgeNode
from edge.terminal_api import router as terminal_router
from protocols.api import ApiError, install_error_handlers
from protocols.contract import ContractError


class NewEvent(BaseModel):
    """An event a station records; its payload is checked against the kind's schema."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    station: str
    payload: dict[str, Any]
    ts: AwareDatetime | None = Field(None, description="when it happened; default: now")


class NewScan(BaseModel):
    """A scan typed by a keyboard-wedge scanner into the station's page."""

    model_config = ConfigDict(extra="forbid")

    station: str
    input: str = Field(max_length=4096)
    device: str = "wedge"


class _Metrics(Collector):
    def __init__(self, node: EdgeNode) -> None:
        self.node = node

    def collect(self) -> Iterator[Any]:
        stats, up = self.node.outbox.stats(), self.node.uplink
        gauges = (
            ("outbox_depth", stats.depth, "events recorded and not yet acknowledged by central"),
            (
                "outbox_oldest_unacked_age_seconds",
                stats.oldest_unacked_age_s or 0.0,
                "age of the oldest unacknowledged event",
            ),
            (
                "outbox_oldest_unsent_age_seconds",
                self.node.oldest_unsent_age_s() or 0.0,
                "age of the oldest event not yet sent to the broker",
            ),
            ("last_seq", stats.last_seq, "sequence number of the newest recorded event"),
            ("acked_seq", stats.acked_seq, "newest sequence number central acknowledged"),
            ("last_ack_timestamp_seconds", stats.last_ack_at or 0.0, "wall time of the last ack"),
            ("mqtt_connected", int(up.connected), "1 when connected and subscribed to acks"),
        )
        for name, value, text in gauges:
            yield GaugeMetricFamily(f"floorsync_edge_{name}", text, value=value)
        connected = GaugeMetricFamily(
            "floorsync_edge_device_connected", "1 when the device answers", labels=["device"]
        )
        errors = CounterMetricFamily(
            "floorsync_edge_device_errors", "failed reads or connects", labels=["device"]
        )
        for c in self.node.coordinators:
            connected.add_metric([c.name], int(c.health.connected))
            errors.add_metric([c.name], c.health.error_count)
        yield connected
        yield errors
        ws = self.node.workstations
        steps = CounterMetricFamily(
            "floorsync_edge_station_steps", "station steps accepted", labels=["station"]
        )
        for station, count in sorted(ws.accepted.items()):
            steps.add_metric([station], count)
        yield steps
        refused = CounterMetricFamily(
            "floorsync_edge_station_refusals",
            "station inputs refused, by reason",
            labels=["station", "reason"],
        )
        for (station, reason), count in sorted(ws.refusals.items()):
            refused.add_metric([station, reason], count)
        yield refused
        for name, value, text in (
            ("batches_sent", up.batches_sent, "MQTT messages of events published"),
            ("events_sent", up.events_sent, "events published, resends included"),
            ("resends", up.resends, "times unacknowledged events were sent again"),
        ):
            yield CounterMetricFamily(f"floorsync_edge_{name}", text, value=value)


def create_app(node: EdgeNode, *, manage: bool = True) -> FastAPI:
    """The API over ``node``; with ``manage`` the app starts and stops it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage:
            node.start()
        yield
        if manage:
            await asyncio.to_thread(node.stop)

    app = FastAPI(title="FloorSync edge", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(terminal_router(node))
    registry = CollectorRegistry()
    registry.register(_Metrics(node))

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "edge_id": node.edge_id, "mqtt_connected": node.uplink.connected}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    @app.get("/api/v1/status")
    def status() -> dict[str, Any]:
        """Outbox depth, oldest unacknowledged age, last ack, connection."""
        return node.status()

    @app.get("/api/v1/dispatch-list")
    def dispatch_list(master_data: bool = False) -> dict[str, Any]:
        """The orders central dispatched to this line, as cached; 404 before the first one.

        ``master_data=true`` adds the cached master data (items, BOMs, routings, defect
        codes, operators) that stations check against.
        """
        listing = node.downlink.current("dispatch_list")
        if listing is None:
            raise ApiError(404, "not_found", "central has sent no dispatch list yet")
        data = node.downlink.current("master_data")
        version, body = listing
        answer = {
            "version": version,
            "orders": body["orders"],
            "master_data_version": data[0] if data else None,
        }
        if master_data:
            answer["master_data"] = data[1] if data else None
        return answer

    @app.post("/api/v1/events", status_code=201)
    async def record(event: NewEvent) -> dict[str, Any]:
        """Record an event; answers only once it is committed on the edge's disk."""
        try:
            future = node.outbox.submit(event.kind, event.station, event.payload, event.ts)
        except ContractError as exc:
            raise ApiError(422, "invalid_event", exc.reason) from None
        recorded = await asyncio.wrap_future(future)
        return {"seq": recorded.seq, "event_id": recorded.event_id, "edge_id": node.edge_id}

    @app.post("/api/v1/scans", status_code=201)
    async def scan(body: NewScan) -> dict[str, Any]:
        """Check a scan; an accepted one is answered once its ``scan`` event is committed."""
        result = node.scans.submit(body.station, body.device, body.input)
        if not result.accepted or result.recorded is None:
            raise ApiError(422, "scan_refused", result.reason or "refused", {"raw": body.input})
        recorded = await asyncio.wrap_future(result.recorded)
        return {
            "accepted": True,
            "meaning": result.meaning,
            "seq": recorded.seq,
            "event_id": recorded.event_id,
        }

    return app
