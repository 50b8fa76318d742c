"""The planner's web page (Gantt chart), served as static files; it reads the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from protocols.api import ApiError

router = APIRouter(include_in_schema=False)
WEB = Path(__file__).resolve().parent.parent / "web"
ASSETS = frozenset({"planner.js", "planner.css"})


@router.get("/planner")
def planner() -> FileResponse:
    """The Gantt chart; it asks for an API token and keeps it for the browser session."""
    return FileResponse(WEB / "planner.html", headers={"Cache-Control": "no-cache"})


@router.get("/planner/static/{name}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise ApiError(404, "not_found", f"no asset {name!r}")
    return FileResponse(WEB / name, headers={"Cache-Control": "no-cache"})
