"""Run an edge node with its HTTP API."""

from __future__ import annotations

import gc
import logging

import uvicorn

from edge.api import create_app
from edge.node import EdgeNode
from edge.settings import EdgeSettings

log = logging.getLogger(__name__)


def run(settings: EdgeSettings) -> None:
    node = EdgeNode(settings)
    app = create_app(node)
    log.info("edge http", extra={"url": f"http://{settings.http.host}:{settings.http.port}"})
    # As central does: full collections need not walk the start-up objects again and again.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        access_log=False,
        # open terminal and dashboard streams must not hold a stopping edge forever
        timeout_graceful_shutdown=3,
    )
