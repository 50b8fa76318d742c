"""The edge's HTTP API: health, readiness, status, metrics, the dispatch list, recording events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from edge import auth
from edge.access import Access
from edge.access import router as access_router
from edge.idempotency import IdempotencyKey, Keyed, KeyReused
from edge.node import EdgeNode
from edge.settings import EdgeSettings
from edge.store import StoreFull
from edge.terminal_api import router as terminal_router
from protocols.api import ApiError, install_error_handlers
from protocols.contract import ContractError
from protocols.mqtt import masked_url

READY_TIMEOUT_S = 5.0

T = TypeVar("T")


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


async def _committed(future: Future[T]) -> T:
    """The event's commit, or the error a station is answered with when nothing was."""
    try:
        return await asyncio.wrap_future(future)
    except StoreFull as exc:
        raise ApiError(507, "store_full", str(exc)) from None
    except KeyReused as exc:
        raise ApiError(
            422, "idempotency_key_reused", str(exc), {"field": "Idempotency-Key"}
        ) from None


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
            (
                "restore_resync_pending",
                int(self.node.outbox.restored_seq is not None),
                "1 while a restored store waits for central's sequence number",
            ),
        )
        store = self.node.writer.usage()
        store_gauges = (
            ("store_used_bytes", store.used_bytes, "bytes of the edge's SQLite file in use"),
            ("store_limit_bytes", store.limit_bytes or 0, "most it may hold; 0: no limit known"),
            ("store_full", int(store.level == "full"), "1 while new events are refused"),
            ("store_high_water", int(store.level != "ok"), "1 while telemetry is downsampled"),
        )
        for name, value, text in (*gauges, *store_gauges):
            yield GaugeMetricFamily(f"floorsync_edge_{name}", text, value=value)
        devices = [(c.name, c.health) for c in self.node.coordinators]
        scanners = [(s.settings.name, s.health) for s in self.node.scanners]
        for kind, healths in (("device", devices), ("scanner", scanners)):
            connected = GaugeMetricFamily(
                f"floorsync_edge_{kind}_connected", f"1 when the {kind} answers", labels=[kind]
            )
            errors = CounterMetricFamily(
                f"floorsync_edge_{kind}_errors", "failed reads or connects", labels=[kind]
            )
            good = GaugeMetricFamily(
                f"floorsync_edge_{kind}_last_good_read_timestamp_seconds",
                "wall time of the last good read",
                labels=[kind],
            )
            for name, health in healths:
                connected.add_metric([name], int(health.connected))
                errors.add_metric([name], health.error_count)
                good.add_metric([name], health.last_good_read or 0.0)
            yield from (connected, errors, good)
        scans = CounterMetricFamily(
            "floorsync_edge_scans", "scans outside station workflows", labels=["result"]
        )
        scans.add_metric(["accepted"], self.node.scans.accepted)
        scans.add_metric(["refused"], self.node.scans.refused)
        yield scans
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
            ("telemetry_downsampled", self.node.line.downsampled, "machine states not recorded"),
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
    access = app.state.access = Access(node.workstations)
    supervising = [Depends(access.need(auth.LINE))]
    recording = [Depends(access.need(auth.RECORD))]
    app.include_router(access_router(access))
    app.include_router(terminal_router(node, access))
    registry = CollectorRegistry()
    registry.register(_Metrics(node))

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "edge_id": node.edge_id, "mqtt_connected": node.uplink.connected}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        """Ready when the store takes a write; the broker and central are not needed."""
        checks: dict[str, str] = {}
        try:
            # an empty unit of work: BEGIN IMMEDIATE and COMMIT through the one writer
            done = node.writer.submit(lambda _: None)
            await asyncio.wait_for(asyncio.wrap_future(done), READY_TIMEOUT_S)
            checks["store"] = "ok"
        except TimeoutError:
            checks["store"] = f"no commit within {READY_TIMEOUT_S:g} s"
        except Exception as exc:  # the answer to a probe is the error, not a 500
            checks["store"] = f"not writable: {exc}"
        checks["mqtt"] = "connected" if node.uplink.connected else "disconnected"
        if node.outbox.restored_seq is not None:
            checks["sequence"] = "restored: waiting for central's sequence number"
        ok = checks["store"] == "ok"
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "edge_id": node.edge_id, "checks": checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    @app.get("/api/v1/status", dependencies=supervising)
    def status() -> dict[str, Any]:
        """Outbox depth, oldest unacknowledged age, last ack, connection."""
        return node.status()

    @app.get("/api/v1/dispatch-list", dependencies=supervising)
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

    @app.post("/api/v1/events", status_code=201, dependencies=recording)
    async def record(
        request: Request, event: NewEvent, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Record an event; answers only once it is committed on the edge's disk.

        A retry with the same ``Idempotency-Key`` and body gets the first answer again.
        """
        key = Keyed.of(
            _scoped(request, idempotency_key), "/api/v1/events", event.model_dump(mode="json")
        )
        try:
            future = node.outbox.submit(event.kind, event.station, event.payload, event.ts, key=key)
        except ContractError as exc:
            raise ApiError(422, "invalid_event", exc.reason) from None
        recorded = await _committed(future)
        return {"seq": recorded.seq, "event_id": recorded.event_id, "edge_id": node.edge_id}

    @app.post("/api/v1/scans", status_code=201, dependencies=recording)
    async def scan(
        request: Request, body: NewScan, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        """Check a scan; an accepted one is answered once its ``scan`` event is committed."""
        key = Keyed.of(
            _scoped(request, idempotency_key), "/api/v1/scans", body.model_dump(mode="json")
        )
        result = node.scans.submit(body.station, body.device, body.input, key)
        if not result.accepted or result.recorded is None:
            raise ApiError(422, "scan_refused", result.reason or "refused", {"raw": body.input})
        recorded = await _committed(result.recorded)
        return {
            "accepted": True,
            "meaning": result.meaning,
            "seq": recorded.seq,
            "event_id": recorded.event_id,
        }

    @app.get("/api/v1/config", dependencies=[Depends(access.need(auth.CONFIG))])
    def config() -> dict[str, Any]:
        """The settings this edge runs with, secrets left out (admin)."""
        return redacted(node.settings)

    return app


SECRET = "(set, not shown)"


def _scoped(request: Request, key: str | None) -> str | None:
    """An idempotency key is its sender's (the API token's name), as on central: two
    systems that number their requests alike do not answer each other's."""
    return None if key is None else f"{request.state.principal.name}:{key}"


def redacted(settings: EdgeSettings) -> dict[str, Any]:
    """``settings`` as JSON with every secret replaced: hashes, passwords, URL passwords."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    data["mqtt"]["url"] = masked_url(settings.mqtt.url)
    for supervisor in data["supervisors"]:
        supervisor["pin_hash"] = SECRET
    for token in data["api_tokens"]:
        token["token_hash"] = SECRET
    for device in data["devices"]:
        if device.get("password") is not None:
            device["password"] = SECRET
    return data
