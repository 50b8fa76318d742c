"""The outbox: every recorded event, committed before the worker sees "accepted".

Rows leave the outbox only when central's end-to-end acknowledgement covers
them; a broker PUBACK is not enough, a broker may lose what it acknowledged.
Sequence numbers are per edge, start at 1 and are never reused.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from edge.idempotency import Keyed, KeyReused, Keys
from edge.store import StoreFull, Writer, connect
from protocols.contract import CONTRACT_VERSION, ContractError, payload_model
from protocols.contract.ids import new_event_id

log = logging.getLogger(__name__)

T = TypeVar("T")

STATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


@dataclass(frozen=True)
class Recorded:
    """What the station is told: the event is committed as number ``seq``.

    ``replayed``: committed by an earlier request with the same idempotency key.
    """

    seq: int
    event_id: str
    replayed: bool = False


@dataclass(frozen=True)
class _Pending:
    event_id: str
    kind: str
    station: str
    recorded_at: float
    head: bytes
    tail: bytes
    future: Future[Recorded]
    keyed: Keyed | None = None


@dataclass(frozen=True)
class OutboxStats:
    last_seq: int
    acked_seq: int
    depth: int
    oldest_unacked_age_s: float | None
    last_ack_at: float | None


def _renumbered(body: bytes, seq: int) -> bytes:
    """An encoded envelope with another sequence number (only ``Outbox.resync`` needs it)."""
    envelope = orjson.loads(body)
    envelope["seq"] = seq
    return orjson.dumps(envelope)


# Test and bench hook: ``bench faults`` starts an edge with its wall clock jumped this far
# (seconds, may be negative) to show sequence order never depends on the clock.
CLOCK_OFFSET = timedelta(seconds=float(os.environ.get("FLOORSYNC_CLOCK_OFFSET_S", "0")))


def utc_iso(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC) + CLOCK_OFFSET
    if moment.tzinfo is None:
        raise ContractError("timestamps must carry a time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Outbox:
    """Append events durably; read them in order for the uplink; drop them once acknowledged."""

    def __init__(self, writer: Writer, edge_id: str) -> None:
        self.writer = writer
        self.edge_id = edge_id
        self._head = b'{"v":%d,"event_id":"%%s","edge_id":%s,"seq":' % (
            CONTRACT_VERSION,
            orjson.dumps(edge_id),
        )
        self._reader = connect(writer.path)
        self._read_lock = threading.Lock()
        self._appended = threading.Condition()
        self._pending_lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._flush_queued = False
        self.keys = Keys()
        # an unclean close that could not be noted in the store (a full disk): kept here,
        # where a rollback's reload of the state does not forget it
        self._unnoted_crash: int | None = None
        self._load_state(self._reader)
        writer.on_rollback.append(self._load_state)
        self._closed_marker = Path(f"{writer.path}.closed")
        self._check_after_crash()

    def _load_state(self, conn: sqlite3.Connection) -> None:
        acked, last_ack_at, restored = conn.execute(
            "SELECT acked_seq, last_ack_at, restored_seq FROM outbox_state WHERE id = 1"
        ).fetchone()
        top = conn.execute("SELECT MAX(seq) FROM outbox").fetchone()[0] or 0
        # Only acknowledged rows are ever deleted, so the newest number is never lost.
        self._last_seq: int = max(top, acked)
        self._acked_seq: int = acked
        self._last_ack_at: float | None = last_ack_at
        # Restored from a backup and not yet resynced with central: see ``resync``.
        self.restored_seq: int | None = restored if restored is not None else self._unnoted_crash

    def _check_after_crash(self) -> None:
        """After a crash, ask central where this edge's sequence stands before sending.

        A disk that loses writes it had confirmed (a write cache without power-loss
        protection) can leave the store behind what central already holds; new events
        would then reuse numbers central has and be dropped as resends. So a store not
        closed cleanly is treated like one restored from a backup (see ``resync``). The
        marker file says the last run closed the store; it is removed at each open.
        """
        clean = self._closed_marker.exists()
        self._closed_marker.unlink(missing_ok=True)
        _sync_dir(self._closed_marker.parent)
        if clean or self.restored_seq is not None or self._last_seq == 0:
            return
        try:  # kept on disk, so a second crash before central answers asks again
            self.writer.run(
                lambda conn: conn.execute(
                    "UPDATE outbox_state SET restored_seq = ? WHERE id = 1", (self._last_seq,)
                )
            )
        except (sqlite3.Error, StoreFull) as exc:  # a full disk: still ask, for this run
            log.error(
                "could not note the unclean close in the edge store", extra={"error": str(exc)}
            )
            self._unnoted_crash = self._last_seq
        self.restored_seq = self._last_seq
        log.warning(
            "edge store was not closed cleanly: asking central for its sequence before sending",
            extra={"edge_id": self.edge_id, "last_seq": self._last_seq},
        )

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def acked_seq(self) -> int:
        return self._acked_seq

    def prepare(
        self, kind: str, station: str, payload: dict[str, Any], ts: datetime | None = None
    ) -> tuple[str, bytes, bytes]:
        """Validate an event and encode all but its sequence number, in the caller's thread."""
        try:
            model = payload_model(kind)
        except KeyError:
            raise ContractError(f"unknown event kind {kind!r}") from None
        if not STATION.match(station):
            raise ContractError(f"station {station!r} is not a valid station code")
        try:
            clean = model.model_validate(payload).model_dump(mode="json", exclude_none=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "payload"
            raise ContractError(f"{kind} payload {where}: {first['msg']}") from None
        event_id = str(new_event_id())
        tail = orjson.dumps({"ts": utc_iso(ts), "kind": kind, "station": station, "payload": clean})
        return event_id, self._head % event_id.encode(), b"," + tail[1:]

    def submit(
        self,
        kind: str,
        station: str,
        payload: dict[str, Any],
        ts: datetime | None = None,
        *,
        key: Keyed | None = None,
    ) -> Future[Recorded]:
        """Queue an event for the next group commit; ContractError at once if it is invalid.

        With ``key``, an event already recorded under the key is answered as it was then
        (``Recorded.replayed``), and a key stored with another request fails the future
        with KeyReused; either way nothing new is recorded.
        """
        event_id, head, tail = self.prepare(kind, station, payload, ts)
        pending = _Pending(event_id, kind, station, time.time(), head, tail, Future(), key)
        with self._pending_lock:
            self._pending.append(pending)
            if not self._flush_queued:
                # One unit of work takes every event queued by the time it runs: one
                # executemany and one wake-up per group instead of one per event.
                self._flush_queued = True
                taken: list[list[_Pending]] = []
                self.writer.submit(lambda conn: self._insert(conn, taken)).add_done_callback(
                    lambda done: self._inserted(done, taken)
                )
        return pending.future

    def submit_with(
        self,
        events: Sequence[tuple[str, str, dict[str, Any]]],
        work: Callable[[sqlite3.Connection], T],
    ) -> Future[tuple[list[Recorded], T]]:
        """Record ``events`` (kind, station, payload) and run ``work`` in one transaction.

        A station's state and the events that changed it commit together or not at all,
        so a crash can neither lose a recorded step nor record it twice. ContractError at
        once if an event is invalid.
        """
        prepared = [self.prepare(kind, station, payload) for kind, station, payload in events]
        now = time.time()
        group = [
            _Pending(event_id, kind, station, now, head, tail, Future())
            for (kind, station, _), (event_id, head, tail) in zip(events, prepared, strict=True)
        ]

        def unit(conn: sqlite3.Connection) -> tuple[list[Recorded], T]:
            if group:
                self.writer.check_room()  # a full store refuses new events, not state updates
            first = self._write(conn, group) if group else self._last_seq + 1
            done = work(conn)
            return [Recorded(first + n, p.event_id) for n, p in enumerate(group)], done

        future = self.writer.submit(unit)
        if group:
            future.add_done_callback(lambda _: self._notify())
        return future

    def _notify(self) -> None:
        with self._appended:
            self._appended.notify_all()

    def _write(self, conn: sqlite3.Connection, group: list[_Pending]) -> int:
        first = self._last_seq + 1
        conn.executemany(
            "INSERT INTO outbox (seq, event_id, kind, station, recorded_at, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (seq, p.event_id, p.kind, p.station, p.recorded_at, p.head + b"%d" % seq + p.tail)
                for seq, p in enumerate(group, start=first)
            ],
        )
        # (a failed transaction reloads the number from the file: see _load_state)
        self._last_seq = first + len(group) - 1
        return first

    def _insert(
        self, conn: sqlite3.Connection, taken: list[list[_Pending]]
    ) -> list[Recorded | Exception]:
        if not taken:  # the writer runs a unit again after a failed group: same events
            with self._pending_lock:
                taken.append(self._pending)
                self._pending, self._flush_queued = [], False
        answers, fresh, new_keys = self._answers(conn, taken[0])
        if not fresh:
            return answers
        try:
            self.writer.check_room()  # StoreFull before anything is written
        except StoreFull as full:
            # a retry of an event committed before is answered all the same: told
            # "nothing was recorded", a worker would write it down and book it again
            return [
                full if isinstance(a, Recorded) and a.seq > self._last_seq else a for a in answers
            ]
        self._write(conn, fresh)
        if new_keys:
            self.keys.remember(conn, new_keys)
        return answers

    def _answers(
        self, conn: sqlite3.Connection, group: list[_Pending]
    ) -> tuple[list[Recorded | Exception], list[_Pending], list[tuple[Keyed, int, str]]]:
        """Each event's answer, the events to write and their keys to store.

        New events are numbered as ``_write`` will number them; a keyed event recorded
        before, or earlier in this group, is answered from its key instead.
        """
        answers: list[Recorded | Exception] = []
        fresh: list[_Pending] = []
        new_keys: list[tuple[Keyed, int, str]] = []
        known: dict[str, tuple[bytes, Recorded]] = {}  # this group's keys: hash, answer
        for p in group:
            if p.keyed is not None:
                earlier = known.get(p.keyed.key)
                if earlier is None and (stored := self.keys.recall(conn, p.keyed.key)):
                    earlier = stored[0], Recorded(stored[1], stored[2], replayed=True)
                if earlier is not None:
                    request_hash, answer = earlier
                    answers.append(answer if request_hash == p.keyed.request_hash else KeyReused())
                    continue
            recorded = Recorded(self._last_seq + 1 + len(fresh), p.event_id)
            if p.keyed is not None:
                known[p.keyed.key] = p.keyed.request_hash, replace(recorded, replayed=True)
                new_keys.append((p.keyed, recorded.seq, recorded.event_id))
            fresh.append(p)
            answers.append(recorded)
        return answers, fresh, new_keys

    def _inserted(
        self, done: Future[list[Recorded | Exception]], taken: list[list[_Pending]]
    ) -> None:
        error = done.exception()
        if not taken:  # the transaction failed before the unit ran: fail what it would take
            with self._pending_lock:
                taken.append(self._pending)
                self._pending, self._flush_queued = [], False
        group = taken[0]
        answers = done.result() if error is None else [error] * len(group)
        for p, answer in zip(group, answers, strict=True):
            if isinstance(answer, Recorded):
                p.future.set_result(answer)
            else:
                p.future.set_exception(answer)
        self._notify()

    def append(
        self, kind: str, station: str, payload: dict[str, Any], ts: datetime | None = None
    ) -> Recorded:
        """Record an event; returns only once it is committed to disk."""
        return self.submit(kind, station, payload, ts).result()

    def wait_for_new(self, after_seq: int, timeout: float) -> bool:
        """Block until an event newer than ``after_seq`` is committed, or the timeout."""
        with self._appended:
            return self._appended.wait_for(lambda: self._last_seq > after_seq, timeout)

    def read_after(self, seq: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` committed events after ``seq``, in order, as encoded envelopes."""
        with self._read_lock:
            return self._reader.execute(
                "SELECT seq, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()

    def ack(self, upto_seq: int) -> Future[int]:
        """Central committed everything up to ``upto_seq``: delete it. Returns the new acked seq."""

        def work(conn: sqlite3.Connection) -> int:
            upto = min(upto_seq, self._last_seq)
            if upto <= self._acked_seq:
                return self._acked_seq
            now = time.time()
            conn.execute("DELETE FROM outbox WHERE seq <= ?", (upto,))
            conn.execute(
                "UPDATE outbox_state SET acked_seq = ?, last_ack_at = ? WHERE id = 1", (upto, now)
            )
            self._acked_seq, self._last_ack_at = upto, now
            return upto

        return self.writer.submit(work)

    def resync(self, central_seq: int) -> Future[int]:
        """Continue a restored store above ``central_seq``, the seq central has applied.

        Central may hold events the edge recorded after the backup was taken, under
        numbers the restored store hands out again. Rows up to the restore point that
        central has are dropped; rows recorded since the restore move above
        ``central_seq``. Returns how many rows were renumbered.
        """

        def work(conn: sqlite3.Connection) -> int:
            restored = self.restored_seq
            if restored is None:
                return 0
            shift = max(0, central_seq - restored)
            conn.execute("DELETE FROM outbox WHERE seq <= ?", (min(central_seq, restored),))
            moved = conn.execute(
                "SELECT seq, event_id, kind, station, recorded_at, body FROM outbox"
                " WHERE seq > ? ORDER BY seq",
                (restored,),
            ).fetchall()
            if shift and moved:
                conn.execute("DELETE FROM outbox WHERE seq > ?", (restored,))
                conn.executemany(
                    "INSERT INTO outbox (seq, event_id, kind, station, recorded_at, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (seq + shift, *rest, _renumbered(body, seq + shift))
                        for seq, *rest, body in moved
                    ],
                )
                self.keys.renumber(conn, restored, shift)
            acked = max(self._acked_seq, central_seq)
            now = time.time()
            conn.execute(
                "UPDATE outbox_state SET acked_seq = ?, last_ack_at = ?, restored_seq = NULL"
                " WHERE id = 1",
                (acked, now),
            )
            self._last_seq = max(self._last_seq, restored) + shift
            self._acked_seq, self._last_ack_at, self.restored_seq = acked, now, None
            self._unnoted_crash = None
            return len(moved) if shift else 0

        return self.writer.submit(work)

    def stats(self) -> OutboxStats:
        acked, last = self._acked_seq, self._last_seq
        oldest: float | None = None
        if last > acked:
            with self._read_lock:
                row = self._reader.execute(
                    "SELECT recorded_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1", (acked,)
                ).fetchone()
            if row:
                oldest = max(0.0, time.time() - row[0])
        return OutboxStats(last, acked, last - acked, oldest, self._last_ack_at)

    def recorded_at(self, seq: int) -> float | None:
        with self._read_lock:
            row = self._reader.execute(
                "SELECT recorded_at FROM outbox WHERE seq = ?", (seq,)
            ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        with self._read_lock:
            self._reader.close()
        self._closed_marker.touch()
        _sync_dir(self._closed_marker.parent)


def _sync_dir(path: Path) -> None:
    """Make a file's creation or removal in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
