"""Central storage: one SQLAlchemy code path for SQLite (default) and PostgreSQL (by URL)."""

from central.db import aftersales, crm, domain  # register the order service's tables on metadata
from central.db.engine import make_engine, migrate, reading, writing
from central.db.schema import dead_letters, edge_cursors, edge_status, events, metadata

__all__ = [
    "aftersales",
    "crm",
    "dead_letters",
    "domain",
    "edge_cursors",
    "edge_status",
    "events",
    "make_engine",
    "metadata",
    "migrate",
    "reading",
    "writing",
]
