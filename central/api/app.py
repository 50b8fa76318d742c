"""The FastAPI app: the spine's views and the order service's resources, one router each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from central.api import (
    accounts,
    boms,
    calendars,
    customer_view,
    customers,
    defect_codes,
    errors,
    followups,
    imports,
    invoices,
    items,
    me,
    operators,
    order_links,
    pages,
    pipeline,
    production_orders,
    purchase_suggestions,
    quotes,
    repairs,
    rfm,
    routings,
    sales_orders,
    schedule,
    sessions,
    shipments,
    spine,
    stock,
    tickets,
    traceability,
    work_centers,
)
from central.service import CentralSync
from protocols.api import install_error_handlers

RESOURCES = (
    me,
    sessions,
    customers,
    items,
    routings,
    boms,
    calendars,
    work_centers,
    defect_codes,
    operators,
    sales_orders,
    production_orders,
    purchase_suggestions,
    stock,
    shipments,
    invoices,
    schedule,
    traceability,
    tickets,
    repairs,
    rfm,
    customer_view,
    order_links,
    pipeline,
    quotes,
    followups,
    imports,
    accounts,
)


def create_app(sync: CentralSync, *, manage: bool = True) -> FastAPI:
    """The API over a running ``sync``; with ``manage`` the app starts and stops it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage:
            sync.start()
        yield
        if manage:
            sync.stop()

    app = FastAPI(title="FloorSync central", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    errors.install(app)
    app.state.sync = sync
    app.state.metrics = spine.registry(sync)
    app.include_router(spine.router)
    app.include_router(pages.router)
    for resource in RESOURCES:
        app.include_router(resource.router, prefix="/api/v1")
    return app
