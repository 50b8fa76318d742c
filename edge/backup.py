"""Backup and restore of the edge store (``floorsync edge backup`` / ``restore``).

A backup is a consistent copy taken while the edge runs (``VACUUM INTO`` reads one
snapshot). A restore refuses while any process has the store open, refuses a file
that is not an edge store of this software, keeps the replaced store aside, and
marks the restored store so that the edge resyncs its sequence with central before
it sends anything (see ``Outbox.resync``).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from edge.store import MIGRATIONS, connect, migrate

__all__ = ["BackupError", "StoreSummary", "backup", "restore", "store_in_use"]

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that was refused or failed; nothing was changed."""


@dataclass(frozen=True)
class StoreSummary:
    """What a store file holds, as the commands report it."""

    path: Path
    schema_version: int
    last_seq: int
    acked_seq: int
    outbox_depth: int
    restored_seq: int | None = None
    kept_aside: Path | None = None


def backup(store: Path, target: Path) -> StoreSummary:
    """Copy ``store`` to ``target`` consistently, also while the edge writes to it."""
    if not store.exists():
        raise BackupError(f"there is no edge store at {store}")
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(store, timeout=10)) as conn:
            conn.execute("VACUUM INTO ?", (str(partial),))
        _fsync(partial)
        summary = inspect(partial)
        partial.rename(target)
        _fsync(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    return StoreSummary(target, *_fields(summary))


def restore(store: Path, source: Path, edge_id: str) -> StoreSummary:
    """Put the backup ``source`` in place of ``store``; the edge must not be running."""
    summary = inspect(source)
    _check_edge(source, edge_id)
    if store_in_use(store):
        raise BackupError(
            f"the edge store {store} is in use: stop the edge before restoring "
            "(a backup can be taken while it runs, a restore cannot)"
        )
    store.parent.mkdir(parents=True, exist_ok=True)
    incoming = store.with_name(store.name + ".restoring")
    for leftover in _files(incoming):
        leftover.unlink(missing_ok=True)
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(incoming)) as dst,
    ):
        src.backup(dst)
    with closing(connect(incoming)) as conn:
        migrate(conn)
        # Keep an older mark: rows after it may still reuse numbers central saw.
        conn.execute(
            "UPDATE outbox_state SET restored_seq = COALESCE(restored_seq, ?) WHERE id = 1",
            (summary.last_seq,),
        )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    aside = None
    if store.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = store.with_name(f"{store.name}.before-restore-{stamp}")
        for old, new in zip(_files(store), _files(aside), strict=True):
            if old.exists():
                old.rename(new)
    for old, new in zip(_files(incoming), _files(store), strict=True):
        if old.exists():
            old.rename(new)
    _fsync(store.parent)
    return StoreSummary(store, *_fields(inspect(store)), kept_aside=aside)


def inspect(path: Path) -> StoreSummary:
    """The summary of an edge store file, or BackupError if it is not one we can use."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with path.open("rb") as file:
        if file.read(16) != SQLITE_HEADER:
            raise BackupError(f"{path} is not an edge store (not a SQLite file)")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is damaged (PRAGMA quick_check fails)")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if version < 1 or not {"outbox", "outbox_state"} <= tables:
                raise BackupError(f"{path} is not an edge store (no outbox)")
            if version > len(MIGRATIONS):
                raise BackupError(
                    f"{path} is an edge store of schema version {version}, newer than this "
                    f"software knows ({len(MIGRATIONS)}); restore it with the newer version"
                )
            restored = "restored_seq" in {
                r[1] for r in conn.execute("PRAGMA table_info(outbox_state)")
            }
            acked, mark = conn.execute(
                f"SELECT acked_seq, {'restored_seq' if restored else 'NULL'}"
                " FROM outbox_state WHERE id = 1"
            ).fetchone()
            top, depth = conn.execute("SELECT MAX(seq), COUNT(*) FROM outbox").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable edge store: {exc}") from None
    return StoreSummary(path, version, max(top or 0, acked), acked, depth, mark)


def store_in_use(store: Path) -> bool:
    """True while a process (a running edge) has the store open.

    Every open connection to a WAL database holds a shared lock, so an exclusive one
    is refused; the kernel drops the locks of a killed process, so a crash leaves none.
    """
    if not store.exists():
        return False
    with closing(sqlite3.connect(store, timeout=0, isolation_level=None)) as conn:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            return True
        conn.execute("ROLLBACK")
    return False


def _check_edge(source: Path, edge_id: str) -> None:
    """Refuse another edge's backup: its events would go out under this edge's topic."""
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT body FROM outbox ORDER BY seq LIMIT 1").fetchone()
    if row is not None:
        theirs = orjson.loads(row[0]).get("edge_id")
        if theirs != edge_id:
            raise BackupError(f"{source} is the store of edge {theirs!r}, not of {edge_id!r}")


def _fields(summary: StoreSummary) -> tuple[int, int, int, int, int | None]:
    return (
        summary.schema_version,
        summary.last_seq,
        summary.acked_seq,
        summary.outbox_depth,
        summary.restored_seq,
    )


def _files(store: Path) -> list[Path]:
    """The store and its WAL and shared-memory files, which belong together."""
    return [store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
