"""The station terminal and the supervisor's line dashboard: pages, steps, live streams.

Every API route needs a sign-in (edge.access): an operator's session for their station,
a supervisor's session or an API token for any. Every step answers 200 ``{accepted,
message, view}`` once its events are committed, or the one error shape: 422 refused by a
rule (the code is the reason), 401 / 429 a wrong or locked supervisor PIN, 404 an unknown
station, 507 ``store_full`` the edge's store is full, 503 the edge cannot write.
Streams are server-sent events: the view at once, then on every change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from edge import auth
from edge.access import Access, stream_token
from edge.answers import answers
from edge.node import EdgeNode
from edge.stations import workflow as wf
from edge.stations.workflow import InspectionInput, Message
from edge.views import line_view, station_view
from protocols.api import ApiError
from protocols.changes import event_stream

log = logging.getLogger(__name__)
WEB = Path(__file__).parent / "web"
Code = Annotated[str, Field(min_length=1, max_length=64)]
LINE_REFRESH_S = 5.0  # OEE and durations move with time: send the line at least this often
LINE_MIN_GAP_S = 0.25


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str = Field(min_length=1, max_length=512, description="what the scanner typed")


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    good: int = Field(0, ge=0, le=1_000_000)
    scrap: int = Field(0, ge=0, le=1_000_000)


class DefectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    quantity: int = Field(1, ge=1, le=1_000_000)


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inspected: int = Field(ge=1, le=1_000_000)
    disposition: Literal["accept", "rework", "scrap"]
    check: Literal["sample", "full"] = "sample"
    result: Literal["pass", "fail"] | None = None
    defects: list[DefectIn] | None = Field(
        None, description="none: the defect codes scanned at the station since the last one"
    )
    rework_operation: Code | None = None
    inspector: Code | None = None
    lot: Code | None = None
    serial: Code | None = None


class SupervisorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    supervisor: Code | None = None
    pin: str | None = Field(None, max_length=12, repr=False)


def router(node: EdgeNode, access: Access) -> APIRouter:
    ws = node.workstations
    api = APIRouter()
    # dependencies in the decorators: annotations are strings here, resolved at module level
    operating = [Depends(access.need(auth.STATION))]
    watching = [Depends(access.need(auth.STATION, stream=True))]
    supervising = [Depends(access.need(auth.LINE))]
    supervising_stream = [Depends(access.need(auth.LINE, stream=True))]

    def view(station: str) -> dict[str, Any]:
        return station_view(ws, station, online=node.uplink.connected)

    def answer(station: str, step: Callable[[], Message]) -> dict[str, Any]:
        with answers():
            message = step()
        # the step is recorded: whatever happens to the view now must not say otherwise
        try:
            shown: dict[str, Any] | None = view(station)
        except Exception:
            log.exception("station view failed", extra={"station": station})
            shown = None
        return {"accepted": True, "message": message.text, "view": shown}

    # -- pages ------------------------------------------------------------------------------

    @api.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/line")

    @api.get("/line", include_in_schema=False)
    def dashboard_page() -> FileResponse:
        return FileResponse(WEB / "dashboard.html", headers={"Cache-Control": "no-cache"})

    @api.get("/stations/{station}", include_in_schema=False)
    def terminal_page(station: str) -> FileResponse:
        with answers():
            ws.station(station)
        return FileResponse(WEB / "terminal.html", headers={"Cache-Control": "no-cache"})

    @api.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        path = WEB / name
        if name not in _ASSETS or not path.is_file():
            raise ApiError(404, "not_found", f"no asset {name!r}")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    # -- stations ------------------------------------------------------------------------------

    @api.get("/api/v1/stations", dependencies=operating)
    def stations() -> dict[str, Any]:
        """The stations of this line with their terminal pages."""
        return {
            "items": [
                {"station": name, "machine": st.settings.machine, "page": f"/stations/{name}"}
                for name, st in ws.stations.items()
            ]
        }

    @api.get("/api/v1/stations/{station}/view", dependencies=operating)
    def station(station: str) -> dict[str, Any]:
        """What the station's terminal shows."""
        with answers():
            return view(station)

    @api.post("/api/v1/stations/{station}/scan", dependencies=operating)
    def scan(station: str, body: ScanIn) -> dict[str, Any]:
        """A scan: badge (log in / out), work order, lot label, defect code, or a quantity."""
        return answer(station, lambda: ws.scan(station, body.input))

    @api.post("/api/v1/stations/{station}/report", dependencies=operating)
    def report(station: str, body: ReportIn) -> dict[str, Any]:
        """Good and scrap counted by hand, reported with the counters' unreported pieces."""
        return answer(
            station, lambda: ws.run(station, lambda s, c: wf.report(s, c, body.good, body.scrap))
        )

    @api.post("/api/v1/stations/{station}/inspection", dependencies=operating)
    def inspection(station: str, body: InspectionIn) -> dict[str, Any]:
        """An inspection of the running operation: defects found and the disposition."""
        given = InspectionInput(
            inspected=body.inspected,
            disposition=body.disposition,
            defects=None if body.defects is None else _defects(body.defects),
            check=body.check,
            result=body.result,
            rework_operation=body.rework_operation,
            inspector=body.inspector,
            lot=body.lot,
            serial=body.serial,
        )
        return answer(station, lambda: ws.run(station, lambda s, c: wf.inspect(s, c, given)))

    @api.post("/api/v1/stations/{station}/approve", dependencies=operating)
    def approve(station: str, body: SupervisorIn) -> dict[str, Any]:
        """A supervisor approves the over-issue waiting at the station."""
        if not body.supervisor or not body.pin:
            raise ApiError(422, "supervisor_needed", "Scan the supervisor badge and enter the PIN.")
        supervisor, pin = body.supervisor, body.pin
        return answer(station, lambda: ws.approve(station, supervisor, pin))

    @api.post("/api/v1/stations/{station}/close", dependencies=operating)
    def close(station: str, body: Annotated[SupervisorIn | None, Body()] = None) -> dict[str, Any]:
        """End the running operation; closing short of the target needs a supervisor."""
        given = body or SupervisorIn()
        return answer(station, lambda: ws.close(station, given.supervisor, given.pin))

    @api.post("/api/v1/stations/{station}/cancel", dependencies=operating)
    def cancel(station: str) -> dict[str, Any]:
        """Drop the lot waiting for a quantity or approval, and the scanned defect codes."""
        return answer(station, lambda: ws.run(station, lambda s, _c: wf.cancel(s)))

    @api.get("/api/v1/stations/{station}/stream", dependencies=watching)
    async def station_stream(station: str, request: Request) -> StreamingResponse:
        """Server-sent events: ``view`` at once and on every change; ends with the sign-in."""
        with answers():
            ws.station(station)
        alive = access.alive(stream_token(request))
        return event_stream(
            request, node.changes, station, "view", lambda: view(station), alive=alive
        )

    # -- the line ------------------------------------------------------------------------------

    @api.get("/api/v1/line", dependencies=supervising)
    def line() -> dict[str, Any]:
        """Every station and machine, OEE, alarms and sync health: the supervisor's dashboard."""
        return line_view(node)

    @api.get("/api/v1/line/stream", dependencies=supervising_stream)
    async def line_stream(request: Request) -> StreamingResponse:
        """Server-sent events: ``line`` at once, on change (at most 4 a second) and every 5 s."""
        return event_stream(
            request,
            node.changes,
            "line",
            "line",
            lambda: line_view(node),
            refresh_s=LINE_REFRESH_S,
            min_gap_s=LINE_MIN_GAP_S,
            alive=access.alive(stream_token(request)),
        )

    return api


_ASSETS = frozenset({"terminal.js", "dashboard.js", "signin.js", "style.css"})


def _defects(given: list[DefectIn]) -> dict[str, int]:
    defects: dict[str, int] = {}
    for d in given:
        defects[d.code] = defects.get(d.code, 0) + d.quantity
    return defects
