"""The edge's SQLite file: migrations, durability pragmas, one writer with group commit."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import closing
from pathlib import Path

import pytest

from edge.store import MIGRATIONS, Writer, connect, migrate
from tests.edge.support import wait_until


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        return version


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {name for (name,) in rows}


def hold(writer: Writer) -> threading.Event:
    """Keep the writer thread busy in a unit of work until the returned event is set."""
    inside, release = threading.Event(), threading.Event()

    def work(_: sqlite3.Connection) -> None:
        inside.set()
        release.wait(10)

    writer.submit(work)
    assert inside.wait(10)
    return release


def test_migrations_bring_a_new_file_to_the_newest_version(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "edge.db"
    writer = Writer(path)
    writer.close()
    assert user_version(path) == len(MIGRATIONS)
    assert {"outbox", "outbox_state", "downlink"} <= tables(path)


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    writer = Writer(path)
    writer.run(lambda c: c.execute("UPDATE outbox_state SET last_seq = 7"))
    writer.close()
    with closing(connect(path)) as conn:
        assert migrate(conn) == len(MIGRATIONS)
        assert migrate(conn) == len(MIGRATIONS)
    writer = Writer(path)  # opening again migrates nothing and keeps the data
    try:
        assert writer.run(lambda c: c.execute("SELECT last_seq FROM outbox_state").fetchone()) == (
            7,
        )
        assert writer.run(lambda c: c.execute("SELECT COUNT(*) FROM outbox_state").fetchone()) == (
            1,
        )
    finally:
        writer.close()
    assert user_version(path) == len(MIGRATIONS)


def test_migrations_continue_from_where_a_file_stands(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(f"{MIGRATIONS[0][1]}\nPRAGMA user_version = 1;")
        conn.execute("UPDATE outbox_state SET acked_seq = 3")
        conn.commit()
    Writer(path).close()
    assert user_version(path) == len(MIGRATIONS)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT acked_seq FROM outbox_state").fetchone() == (3,)


def test_a_file_from_newer_software_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with closing(connect(path)) as conn, pytest.raises(RuntimeError, match="newer"):
        migrate(conn)


def test_wal_and_synchronous_full(writer: Writer) -> None:
    with closing(sqlite3.connect(writer.path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert writer.run(lambda c: c.execute("PRAGMA synchronous").fetchone()) == (2,)  # FULL
    assert writer.run(lambda c: c.execute("PRAGMA journal_mode").fetchone()) == ("wal",)
    with closing(connect(writer.path, readonly=True)) as reader:
        assert reader.execute("PRAGMA synchronous").fetchone() == (2,)


def test_concurrent_units_share_commits(writer: Writer) -> None:
    writer.run(lambda c: c.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, who TEXT)"))
    before = writer.commits
    threads, per_thread = 8, 25

    def insert(n: int, who: int) -> Callable[[sqlite3.Connection], object]:
        return lambda c: c.execute("INSERT INTO t VALUES (?, ?)", (n, str(who)))

    def append(who: int) -> None:
        for i in range(per_thread):
            writer.run(insert(who * per_thread + i, who))

    workers = [threading.Thread(target=append, args=(w,)) for w in range(threads)]
    release = hold(writer)
    for t in workers:
        t.start()
    # every thread queues its first unit while the writer is busy: they must share a commit
    wait_until(lambda: writer._queue.qsize() >= threads, what="a unit queued by every thread")
    release.set()
    for t in workers:
        t.join(10)
    appends = threads * per_thread
    assert writer.run(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()) == (appends,)
    commits = writer.commits - before
    assert commits <= appends - threads + 1, f"{commits} commits for {appends} appends"


def test_a_failing_unit_fails_only_its_own_future(writer: Writer) -> None:
    writer.run(lambda c: c.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
    rollbacks: list[int] = []
    writer.on_rollback.append(lambda _: rollbacks.append(1))
    release = hold(writer)

    def insert(n: int) -> Future[int]:
        return writer.submit(lambda c: c.execute("INSERT INTO t VALUES (?)", (n,)).rowcount)

    def boom(_: sqlite3.Connection) -> None:
        raise ValueError("bad unit")

    good_before = [insert(n) for n in (1, 2, 3)]
    bad = writer.submit(boom)
    duplicate = writer.submit(lambda c: c.execute("INSERT INTO t VALUES (1)"))  # a SQL error
    good_after = [insert(n) for n in (4, 5)]
    release.set()

    with pytest.raises(ValueError, match="bad unit"):
        bad.result(10)
    with pytest.raises(sqlite3.IntegrityError):
        duplicate.result(10)
    for future in good_before + good_after:
        assert future.result(10) == 1
    rows = writer.run(lambda c: c.execute("SELECT n FROM t ORDER BY n").fetchall())
    assert rows == [(1,), (2,), (3,), (4,), (5,)]
    assert rollbacks, "the writer told its listeners about the rollback"
    # the writer keeps going after a failed group
    assert writer.run(lambda c: c.execute("INSERT INTO t VALUES (6)").rowcount) == 1
