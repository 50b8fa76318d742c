"""The edge's SQLite file: one writer thread, group commit, migrations registered in code.

Every write goes through ``Writer.submit``: the writer thread takes whatever
units of work are queued, runs them in one transaction and commits once
(group commit). If the group fails, each unit is retried in a transaction of
its own, so one bad unit fails only its own caller.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from edge.kpi import KpiRecorder

log = logging.getLogger(__name__)

Work = Callable[[sqlite3.Connection], Any]

# Each entry moves the schema one version up; PRAGMA user_version says where a file stands.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "outbox",
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            station TEXT NOT NULL,
            recorded_at REAL NOT NULL,
            body BLOB NOT NULL
        );
        CREATE TABLE outbox_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_seq INTEGER NOT NULL,
            acked_seq INTEGER NOT NULL,
            last_ack_at REAL
        );
        INSERT INTO outbox_state (id, last_seq, acked_seq) VALUES (1, 0, 0);
        """,
    ),
    (
        "downlink",
        """
        CREATE TABLE downlink (
            command TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            issued_at TEXT NOT NULL,
            received_at REAL NOT NULL,
            body TEXT NOT NULL
        );
        """,
    ),
    (
        "station_counters",
        """
        CREATE TABLE station_counters (
            station TEXT NOT NULL,
            counter TEXT NOT NULL,
            booked INTEGER NOT NULL,
            implausible INTEGER NOT NULL,
            tracker TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (station, counter)
        );
        """,
    ),
    (
        "stations",
        """
        CREATE TABLE station_state (
            station TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        """
        + KpiRecorder.SCHEMA,
    ),
]


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL: a commit survives power loss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the file to the newest schema; returns the version it is at."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"edge store is at schema version {current}, newer than this software knows "
            f"({len(MIGRATIONS)}); run the newer version or restore a backup"
        )
    for version, (name, script) in enumerate(MIGRATIONS[current:], start=current + 1):
        log.info("edge store migration", extra={"version": version, "migration": name})
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    return len(MIGRATIONS)


class Writer:
    """The one thread that writes to a SQLite file."""

    def __init__(self, path: Path, *, max_group: int = 2000) -> None:
        self.path = path
        self.max_group = max_group
        self._queue: queue.SimpleQueue[tuple[Work, Future[Any]] | None] = queue.SimpleQueue()
        self._conn = connect(path)
        migrate(self._conn)
        self.commits = 0
        self._closed = False
        # Called in the writer thread after a rollback, so in-memory state can be reloaded.
        self.on_rollback: list[Callable[[sqlite3.Connection], None]] = []
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Work) -> Future[Any]:
        """Queue a unit of work; the future resolves once its transaction is committed."""
        future: Future[Any] = Future()
        if self._closed:  # nobody would ever run it: fail now rather than wait forever
            future.set_exception(RuntimeError("the edge store is closed"))
            return future
        self._queue.put((work, future))
        return future

    def run(self, work: Work) -> Any:
        """Run a unit of work and wait for its commit."""
        return self.submit(work).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            stop = False
            while len(group) < self.max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
            self._commit_group(group)
            if stop:
                return

    def _commit_group(self, group: list[tuple[Work, Future[Any]]]) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            results = [work(self._conn) for work, _ in group]
            self._conn.execute("COMMIT")
        except Exception as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            for listener in self.on_rollback:
                listener(self._conn)
            if len(group) == 1:
                group[0][1].set_exception(exc)
            else:
                for one in group:
                    self._commit_group([one])
            return
        self.commits += 1
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)
