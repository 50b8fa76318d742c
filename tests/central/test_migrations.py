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
from central.db.aftersales import operation_crews
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


def test_upgrading_folds_the_crews_of_reports_already_stored(empty: Engine) -> None:
    migrate(empty, "0006")
    at = datetime(2026, 11, 1, tzinfo=UTC)

    def stored(seq: int, start: str, end: str, crew: list[dict[str, object]]) -> dict[str, object]:
        payload = {"work_order": "WO-7", "operation": "10", "good": 0, "scrap": 0}
        payload |= {"period_start": start, "period_end": end, "crew": crew}
        return {
            "edge_id": "p/a/l/e",
            "seq": seq,
            "event_id": f"0190f0e0-0000-7000-8000-{seq:012d}",
            "kind": "production_report",
            "station": "ST-2",
            "source_ts": at,
            "ingested_at": at,
            "payload": payload,
        }

    share = {"operator": "EMP-1", "good": 4, "scrap": 1, "labour_hours": 0.5}
    with empty.begin() as conn:
        conn.execute(
            insert(events),
            [
                stored(1, "2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z", [share]),
                stored(2, "2026-11-01T06:00:00+00:00", "2026-11-01T07:00:00Z", [share]),
                stored(3, "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z", []),
            ],
        )

    migrate(empty)

    with empty.connect() as conn:
        [crew] = conn.execute(select(operation_crews)).all()
    assert (crew.work_order, crew.operation, crew.station, crew.operator) == (
        "WO-7",
        "10",
        "ST-2",
        "EMP-1",
    )
    assert (crew.good, crew.scrap, crew.labour_hours) == (8, 2, 1.0)
    assert (crew.first_at, crew.last_at) == (
        datetime(2026, 11, 1, 6, tzinfo=UTC),
        datetime(2026, 11, 1, 9, tzinfo=UTC),
    )
