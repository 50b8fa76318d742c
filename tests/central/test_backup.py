"""``floorsync central backup``: a SQLite copy or a pg_dump, and the documented restore."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from central.db import make_engine, migrate
from central.ingest import Ingestor
from floorsync.cli import main
from tests.central.conftest import batch, envelope, events_topic, stored_seqs
from tests.helpers import PG_ADMIN_URL


def ingest_three(engine: Engine) -> None:
    Ingestor(engine).handle(events_topic(), batch(*(envelope(s) for s in (1, 2, 3))))


def test_sqlite_backup_is_a_database_central_runs_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, copy = f"sqlite:///{tmp_path / 'central.db'}", tmp_path / "backup" / "central.db"
    engine = make_engine(url)
    migrate(engine)
    ingest_three(engine)
    with engine.connect():  # central is running: the database is open
        assert main(["central", "backup", "--database", url, "--to", str(copy)]) == 0
    assert "backed up SQLite database" in capsys.readouterr().out
    engine.dispose()

    # restoring is putting the file in place while central is stopped
    restored = make_engine(f"sqlite:///{copy}")
    migrate(restored)  # already at the newest schema: nothing to do
    assert stored_seqs(restored) == [1, 2, 3]
    restored.dispose()

    assert main(["central", "backup", "--database", url, "--to", str(copy)]) == 1
    assert "exists already" in capsys.readouterr().err
    missing = f"sqlite:///{tmp_path / 'nothing.db'}"
    assert main(["central", "backup", "--database", missing, "--to", str(tmp_path / "n")]) == 1
    assert "there is no database file" in capsys.readouterr().err
    assert not (tmp_path / "n").exists() and not (tmp_path / "nothing.db").exists()


def test_postgresql_backup_is_a_pg_dump_that_pg_restore_brings_back(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("pg_restore") is None:
        pytest.skip("pg_restore is not installed")
    engine = make_engine(pg_url)
    migrate(engine)
    ingest_three(engine)
    engine.dispose()
    dump = tmp_path / "central.dump"
    assert main(["central", "backup", "--database", pg_url, "--to", str(dump)]) == 0
    assert "pg_dump custom format" in capsys.readouterr().out

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"floorsync_restore_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    target = admin.url.set(database=name)
    try:
        libpq = target.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={libpq}", str(dump)], check=True, timeout=60
        )
        restored = make_engine(target.render_as_string(hide_password=False))
        migrate(restored)
        assert stored_seqs(restored) == [1, 2, 3]
        restored.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_an_empty_batch_is_answered_with_the_cursor_and_changes_nothing(
    sqlite_engine: Engine,
) -> None:
    """What a restored edge asks central before it sends (docs/contract.md)."""
    ingestor = Ingestor(sqlite_engine)
    ingest_three(sqlite_engine)
    outcome = ingestor.handle(events_topic(), batch())
    assert outcome.ack is not None and outcome.ack.acked_seq == 3
    assert (outcome.applied, outcome.dead_lettered) == (0, 0)
    assert stored_seqs(sqlite_engine) == [1, 2, 3]
