"""The edge's SQLite file: one writer thread, group commit, migrations registered in code.

Every write goes through ``Writer.submit``: the writer thread takes whatever
units of work are queued, runs them in one transaction and commits once
(group commit). If the group fails, each unit is retried in a transaction of
its own, so one bad unit fails only its own caller.

The store has a size budget (``StoreBudget``): above its high-water mark the edge
records telemetry less often; when full, units that record new events fail with
``StoreFull`` before they write anything (``Writer.check_room``), while acks and state
updates still commit, so the store frees itself as central acknowledges the backlog.
SQLite's own SQLITE_FULL (``PRAGMA max_page_count`` reached, or the disk) rolls the
transaction back and becomes ``StoreFull`` too.
"""

from __future__ import annotations

import logging
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.kpi import KpiRecorder

log = logging.getLogger(__name__)

Work = Callable[[sqlite3.Connection], Any]
Level = Literal["ok", "high", "full"]

SQLITE_FULL = 13
DISK_CHECK_S = 1.0  # free disk space is asked at most this often
FULL_RETRY_S = 10.0  # after SQLITE_FULL, new events are refused this long unless room is made
STORE_FULL_MESSAGE = "The edge's store is full: nothing was recorded. Call the supervisor."


class StoreFull(Exception):
    """The store has no room for new events: nothing of the unit was written."""

    def __init__(self, message: str = STORE_FULL_MESSAGE) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class StoreBudget:
    """How big the store may grow: ``max_mb`` 0 leaves it to the free disk."""

    max_mb: float = 0.0
    high_water: float = 0.8  # fraction of the limit above which telemetry is downsampled
    min_free_disk_mb: float = 64.0  # the disk counts as full with less than this free


@dataclass(frozen=True)
class StoreUsage:
    """How full the store is; ``limit_bytes`` None when neither budget nor disk bounds it."""

    used_bytes: int
    limit_bytes: int | None
    level: Level
    since: float  # wall time the level was entered


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
    (
        # set by ``floorsync edge restore``: events after it may reuse numbers central saw
        "restore",
        "ALTER TABLE outbox_state ADD COLUMN restored_seq INTEGER;",
    ),
    (
        # written with the event it answers for, in one transaction: edge/idempotency.py
        "idempotency_keys",
        """
        CREATE TABLE idempotency_keys (
            key TEXT PRIMARY KEY,
            request_hash BLOB NOT NULL,
            seq INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
        """,
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

    def __init__(
        self, path: Path, *, max_group: int = 2000, budget: StoreBudget | None = None
    ) -> None:
        self.path = path
        self.max_group = max_group
        self.budget = budget or StoreBudget()
        self._queue: queue.SimpleQueue[tuple[Work, Future[Any]] | None] = queue.SimpleQueue()
        self._conn = connect(path)
        migrate(self._conn)
        self.commits = 0
        self._closed = False
        # Called in the writer thread after a rollback, so in-memory state can be reloaded.
        self.on_rollback: list[Callable[[sqlite3.Connection], None]] = []
        # Called in the writer thread when the store's level changes (ok / high / full).
        self.on_level: list[Callable[[StoreUsage], None]] = []
        self._page_size: int = self._conn.execute("PRAGMA page_size").fetchone()[0]
        self._max_pages: int | None = None
        if self.budget.max_mb > 0:
            wanted = max(1, int(self.budget.max_mb * 2**20) // self._page_size)
            # SQLite answers SQLITE_FULL past this; it never goes below the file's size
            self._max_pages = self._conn.execute(f"PRAGMA max_page_count = {wanted}").fetchone()[0]
        # (used pages, limit, monotonic time) when SQLite last said SQLITE_FULL
        self._full_at: tuple[int, int, float] | None = None
        self._disk_pages: int | None = None
        self._disk_checked = 0.0
        self._usage = StoreUsage(0, None, "ok", time.time())
        self._refresh_usage()
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

    def usage(self) -> StoreUsage:
        """How full the store was after the last transaction."""
        return self._usage

    def check_room(self) -> None:
        """In a unit that records new events: ``StoreFull`` before it writes, when full."""
        if self._usage.level == "full":
            raise StoreFull()

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
            if self._conn.in_transaction:  # SQLite may have rolled back a full transaction itself
                self._conn.execute("ROLLBACK")
            for listener in self.on_rollback:
                listener(self._conn)
            if _is_full(exc):
                log.error("edge store refused a write", extra={"error": str(exc)})
                self._track_usage(hit_full=True)
                exc = StoreFull()
            if len(group) == 1:
                group[0][1].set_exception(exc)
            else:
                for one in group:
                    self._commit_group([one])
            return
        self.commits += 1
        self._track_usage()
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)

    def _pages(self) -> tuple[int, int]:
        """The file's pages and those of them in use (the rest are free for reuse)."""
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        return pages, pages - self._conn.execute("PRAGMA freelist_count").fetchone()[0]

    def _disk_limit(self, pages: int, *, now: float, force: bool = False) -> int | None:
        """Pages the file may reach before the disk's free space drops below the minimum."""
        if force or self._disk_pages is None or now - self._disk_checked >= DISK_CHECK_S:
            self._disk_checked = now
            try:
                spare = shutil.disk_usage(self.path.parent).free
            except OSError:
                self._disk_pages = None
            else:
                spare -= int(self.budget.min_free_disk_mb * 2**20)
                self._disk_pages = pages + max(0, spare) // self._page_size
        return self._disk_pages

    def _track_usage(self, *, hit_full: bool = False) -> None:
        try:
            self._refresh_usage(hit_full=hit_full)
        except Exception:  # the writer thread must live on: its callers wait for it
            log.exception("edge store usage not known")

    def _refresh_usage(self, *, hit_full: bool = False) -> None:
        """The store's level after a transaction; tells ``on_level`` when it changes."""
        pages, used = self._pages()
        now = time.monotonic()
        disk = self._disk_limit(pages, now=now, force=hit_full)
        limit = min((n for n in (self._max_pages, disk) if n is not None), default=None)
        # headroom for what still commits when full: station state, acks, OEE minutes
        reserve = max(8, limit // 50) if limit else 0
        if hit_full:  # SQLite said so, whatever the figures say
            self._full_at = (used, limit or pages, now)
        elif self._full_at is not None:
            was_used, was_limit, at = self._full_at
            # rows were acknowledged, the disk has room again, or it is time to try again
            if used < was_used or (limit or 0) > was_limit + reserve or now - at >= FULL_RETRY_S:
                self._full_at = None
        level: Level = "ok"
        if self._full_at is not None or (limit is not None and used >= limit - reserve):
            level = "full"
        elif limit is not None and used >= limit * self.budget.high_water:
            level = "high"
        old = self._usage
        usage = StoreUsage(
            used * self._page_size,
            None if limit is None else limit * self._page_size,
            level,
            old.since if level == old.level else time.time(),
        )
        self._usage = usage
        if level == old.level:
            return
        log.log(
            {"ok": logging.INFO, "high": logging.WARNING, "full": logging.ERROR}[level],
            "edge store level",
            extra={
                "level": level,
                "was": old.level,
                "used_bytes": usage.used_bytes,
                "limit_bytes": usage.limit_bytes,
            },
        )
        for listener in self.on_level:
            listener(usage)


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL
    )
