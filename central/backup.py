"""Backup of central's database while central runs (``floorsync central backup``).

SQLite: ``VACUUM INTO`` writes a consistent snapshot to a new file. PostgreSQL:
``pg_dump --format=custom`` (one transaction, so consistent too), restored with
``pg_restore``; see docs/operations.md.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["BackupError", "backup"]


class BackupError(Exception):
    """A backup that was refused or failed; no backup file was left behind."""


def backup(url: str, target: Path) -> str:
    """Back up the database at ``url`` to the new file ``target``; says what it did."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BackupError(f"{url!r} is not a database URL") from None
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            what = _sqlite(Path(parsed.database or ""), partial)
        elif parsed.get_backend_name() == "postgresql":
            what = _postgresql(url, partial)
        else:
            raise BackupError(f"cannot back up a {parsed.get_backend_name()} database")
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return f"backed up {what} to {target}"


def _sqlite(path: Path, partial: Path) -> str:
    if not path.is_file():
        raise BackupError(f"there is no database file at {path}")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in tables:
                raise BackupError(f"{path} is not central's database (never migrated)")
            conn.execute("VACUUM INTO ?", (str(partial),))
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be backed up: {exc}") from None
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return f"SQLite database {path}"


def _postgresql(url: str, partial: Path) -> str:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not installed (apt-get install postgresql-client); "
            "or run pg_dump --format=custom yourself"
        )
    parsed = make_url(url)
    # libpq's URL, with the password in the environment rather than on the command line
    libpq = parsed.set(drivername="postgresql", password=None).render_as_string()
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    result = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={libpq}"],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return f"PostgreSQL database {parsed.database} (pg_dump custom format; restore: pg_restore)"
