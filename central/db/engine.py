"""Engines and migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for a SQLite file or a PostgreSQL URL; SQLite gets WAL and synchronous=FULL."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, json_serializer=_json, json_deserializer=orjson.loads, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
            cur.execute("PRAGMA busy_timeout = 10000")
            # Order lists and details read scattered pages of a file that grows to gigabytes:
            # a 32 MiB page cache and memory-mapped reads keep them off the read() path.
            cur.execute("PRAGMA cache_size = -32768")
            cur.execute("PRAGMA mmap_size = 1073741824")
            cur.close()
            # sqlite3's legacy transaction control sends no BEGIN before a SELECT or SAVEPOINT,
            # so a released savepoint would commit on its own, apart from the cursor update that
            # belongs to it; SQLAlchemy emits BEGIN itself instead (see its SQLite docs).
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "BEGIN IMMEDIATE")
            conn.exec_driver_sql(mode)

    return engine


def writing(engine: Engine) -> Engine:
    """The engine for transactions that write: on SQLite they take the write lock at BEGIN.

    This is the default for every SQLite transaction: a deferred transaction that reads
    and then writes fails at once with "database is locked" when another connection
    committed in between (the busy timeout does not apply to it); one that begins
    IMMEDIATE waits its turn instead. Read-only work may use ``reading`` to run
    alongside writers (WAL).
    """
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")


def reading(engine: Engine) -> Engine:
    """The engine for read-only work: on SQLite it never waits for a writer (WAL)."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(sqlite_begin="BEGIN")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(engine), revision)
