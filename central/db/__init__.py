"""Central storage: one SQLAlchemy code path for SQLite (default) and PostgreSQL (by URL)."""

from central.db.engine import make_engine, migrate
from central.db.schema import dead_letters, edge_cursors, edge_status, events, metadata

__all__ = [
    "dead_letters",
    "edge_cursors",
    "edge_status",
    "events",
    "make_engine",
    "metadata",
    "migrate",
]
