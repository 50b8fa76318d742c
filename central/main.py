"""Run the central service: migrate the database, ingest from MQTT, serve the API."""

from __future__ import annotations

import gc
import logging

import uvicorn

from central.api import create_app
from central.db import make_engine, migrate
from central.service import CentralSync
from central.settings import CentralSettings
from protocols.mqtt import BrokerUrl

log = logging.getLogger(__name__)


def run(settings: CentralSettings) -> None:
    engine = make_engine(settings.database.url)
    migrate(engine)
    if engine.dialect.name == "sqlite":
        # statistics for the query planner, refreshed where they are stale (cheap when not)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA optimize")
    sync = CentralSync(settings, engine)
    app = create_app(sync)
    log.info(
        "central starting",
        extra={
            "database": engine.url.render_as_string(),
            "broker": str(BrokerUrl.parse(settings.mqtt.url)),
            "http": f"http://{settings.http.host}:{settings.http.port}",
        },
    )
    # Full collections need not walk the libraries' start-up objects (SQLAlchemy, pydantic
    # schemas) again and again: at a million stored events that cost ~20 % of ingest.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app, host=settings.http.host, port=settings.http.port, log_config=None, access_log=False
    )
