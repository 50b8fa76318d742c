"""Customer progress links: sales make and revoke them; the customer reads with the link alone.

The public endpoints (``/track/{token}``) need no account: the link is the secret. They
answer only through ``order_links.public_view``; an unknown, revoked or expired link is
one and the same 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy import Connection

from central.aftersales import order_links
from central.api.deps import MAX_ID, Db, Write, sync_of, writer
from central.api.rows import Body, CodeInPath
from central.api.schedule import FLOOR_GAP_S
from central.auth import SALES
from central.db import reading, writing
from central.orders.errors import NotFound
from protocols.changes import event_stream

router = APIRouter(tags=["order links"])
SalesWrite = Annotated[Write, Depends(writer(SALES))]
# secrets.token_urlsafe(32) is 43 characters; anything far off is not a link
Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class NewLink(Body):
    expires_in_days: int | None = Field(
        90, ge=1, le=3650, description="null: until revoked; default 90 days"
    )


@router.post("/sales-orders/{number}/links", status_code=201)
def create_link(
    number: CodeInPath, write: SalesWrite, body: NewLink | None = None
) -> dict[str, Any]:
    """A secret link to the order's progress page; its token is in this answer only."""
    days = (body or NewLink()).expires_in_days

    def work(conn: Connection) -> dict[str, Any]:
        return order_links.create(conn, number, write.user.id, write.now, days)

    return write(work)


@router.get("/sales-orders/{number}/links")
def list_links(number: CodeInPath, db: Db) -> dict[str, Any]:
    with db.connect() as conn:
        return {"items": order_links.listed(conn, number, datetime.now(UTC))}


@router.post("/sales-orders/{number}/links/{link_id}/revoke")
def revoke_link(
    number: CodeInPath, link_id: Annotated[int, Path(ge=1, le=MAX_ID)], write: SalesWrite
) -> dict[str, Any]:
    """The link stops working at once; revoking it again changes nothing."""
    return write(lambda conn: order_links.revoke(conn, number, link_id, write.now))


@router.get("/track/{token}")
def track(
    token: Token,
    request: Request,
    refresh: Annotated[
        bool, Query(description="a live redraw, not a visit: not counted in the link's views")
    ] = False,
) -> dict[str, Any]:
    """The order behind a live link, as its customer may see it (no bearer token)."""
    engine, now = sync_of(request).engine, datetime.now(UTC)
    # read without a write lock: nobody without an account may queue behind ingest
    with reading(engine).connect() as conn:
        order_id = order_links.order_of(conn, token, now)
        view = order_links.public_view(conn, order_id, now)
    if not refresh:
        with writing(engine).begin() as conn:
            order_links.seen(conn, token, now)
    return view


@router.get("/track/{token}/stream")
async def track_stream(token: Token, request: Request) -> StreamingResponse:
    """Server-sent events: ``progress`` when the floor reports anything (the page then
    asks for the order again); the stream ends once the link stops working."""
    sync = sync_of(request)

    def live() -> bool:
        with reading(sync.engine).connect() as conn:
            try:
                order_links.order_of(conn, token, datetime.now(UTC))
            except NotFound:
                return False
        return True

    if not live():
        raise NotFound("link", "given")
    return event_stream(
        request,
        sync.changes,
        "floor",
        "progress",
        lambda: {"at": datetime.now(UTC).isoformat()} if live() else None,
        min_gap_s=FLOOR_GAP_S,
    )
