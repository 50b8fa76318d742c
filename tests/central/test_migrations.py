"""The Alembic migrations build exactly the schema of ``central.db.metadata``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, inspect, select

from central.db import make_engine, metadata, migrate
from central.db.engine import MIGRATIONS
from central.db.schema import edge_cursors, events


@pytest.fixture
def empty(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None
    return revision


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrating_an_empty_database_gives_exactly_the_metadata(empty: Engine) -> None:
    assert inspect(empty).get_table_names() == []

    migrate(empty)

    tables = set(inspect(empty).get_table_names())
    assert tables == set(metadata.tables) | {"alembic_version"}
    with empty.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert current_revision(empty) == head()


def test_migrating_twice_changes_nothing(empty: Engine) -> None:
    migrate(empty)
    before = {t: inspect(empty).get_columns(t) for t in inspect(empty).get_table_names()}

    migrate(empty)

    after = {t: inspect(empty).get_columns(t) for t in inspect(empty).get_table_names()}
    assert repr(after) == repr(before)
    assert current_revision(empty) == head()
    with empty.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_the_previous_schema_upgrades_with_its_events_kept(empty: Engine) -> None:
    migrate(empty, "0002")  # the sync spine, before the order service
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with empty.begin() as conn:
        conn.execute(
            insert(events).values(
                edge_id="p/a/l/e",
                seq=1,
                event_id="0190f0e0-0000-7000-8000-000000000001",
                kind="production_report",
                station="ST-1",
                source_ts=at,
                ingested_at=at,
                payload={"work_order": "WO-1"},
            )
        )
        conn.execute(insert(edge_cursors).values(edge_id="p/a/l/e", applied_seq=1, updated_at=at))

    migrate(empty)

    assert current_revision(empty) == head()
    with empty.connect() as conn:
        assert conn.execute(select(events.c.payload)).scalars().all() == [{"work_order": "WO-1"}]
        assert conn.execute(select(edge_cursors.c.applied_seq)).scalars().all() == [1]
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
