"""The central web pages, served as static files; each reads the JSON API with the user's token.

/planner            the Gantt chart and live predictions (planner.*)
/trace              genealogy of a lot or serial, backward and forward (trace.*)
/customers          customers: search, filter, a new customer with the duplicate check (customers.*)
/customers/{code}   the customer 360; its record, contacts, addresses and tags edited (customer.*)
/sales-orders       sales orders: filter by status or customer (orders.*)
/sales-orders/{n}   one sales order: progress, confirm, cancel, ship, progress links (order.*)
/sales-setup        pipeline stages and assignment rules, for admins (salessetup.*)
/import             customers, contacts, items or open orders from a file (import.*)
/pipeline           the sales pipeline board: drag deals between stages (pipeline.*)
/leads              leads: filter, qualify, convert to account, contact and deal (leads.*)
/quotes             quotes: filter, and a new quote for a customer with its lines (quotes.*)
/quotes/{number}    one quote: lines, totals, approval, versions, its next steps (quote.*)
/my-day             a salesperson's tasks, closing deals, expiring quotes, renewals (myday.*)
/track/{token}      one sales order's progress for its customer, no token needed (track.*)

Scripts and styles in ``central/web`` are served under ``/static/``; a page loads
``common.js`` for sign-in, the API and the live stream.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from central.api.rows import CodeInPath
from protocols.api import ApiError

router = APIRouter(include_in_schema=False)
WEB = Path(__file__).resolve().parent.parent / "web"
ASSETS = frozenset(p.name for p in WEB.iterdir() if p.suffix in (".js", ".css"))
_FRESH = {"Cache-Control": "no-cache"}


def _page(name: str) -> FileResponse:
    return FileResponse(WEB / name, headers=_FRESH)


@router.get("/planner")
def planner() -> FileResponse:
    """The Gantt chart; it asks for an API token and keeps it for the browser session."""
    return _page("planner.html")


@router.get("/trace")
def trace() -> FileResponse:
    return _page("trace.html")


@router.get("/customers")
def customer_list() -> FileResponse:
    return _page("customers.html")


@router.get("/customers/{code}")
def customer(code: CodeInPath) -> FileResponse:
    return _page("customer.html")


@router.get("/pipeline")
def pipeline() -> FileResponse:
    return _page("pipeline.html")


@router.get("/leads")
def leads() -> FileResponse:
    return _page("leads.html")


@router.get("/quotes")
def quotes() -> FileResponse:
    return _page("quotes.html")


@router.get("/quotes/{number}")
def quote(number: CodeInPath) -> FileResponse:
    return _page("quote.html")


@router.get("/sales-orders")
def sales_orders() -> FileResponse:
    return _page("orders.html")


@router.get("/sales-orders/{number}")
def sales_order(number: CodeInPath) -> FileResponse:
    return _page("order.html")


@router.get("/sales-setup")
def sales_setup() -> FileResponse:
    return _page("salessetup.html")


@router.get("/my-day")
def my_day() -> FileResponse:
    return _page("myday.html")


@router.get("/import")
def import_page() -> FileResponse:
    return _page("import.html")


@router.get("/track/{token}")
def track(token: str) -> FileResponse:
    """The page only: what it shows comes from the API with the same token, checked there."""
    # no referrer: the secret in the address must not travel to anything the page links to
    return FileResponse(WEB / "track.html", headers={**_FRESH, "Referrer-Policy": "no-referrer"})


@router.get("/static/{name}")
@router.get("/planner/static/{name}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise ApiError(404, "not_found", f"no asset {name!r}")
    return FileResponse(WEB / name, headers=_FRESH)
