"""Central ingest: validate, store each (edge, seq) once with its effect, in order, then ack.

Per edge, events are applied strictly in sequence. An event that arrives ahead
of a gap is held (in memory, bounded) until the gap fills; the edge resends
whatever is not acknowledged, so what is dropped from the hold comes back.
An event whose envelope is sound but whose payload fails its schema is
dead-lettered in its place in the sequence (so the sequence goes on); a message
that cannot be tied to its sender is dead-lettered and acknowledges nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from central.db.engine import writing
from central.db.schema import dead_letters, edge_cursors
from central.db.upsert import upsert
from central.effects import apply_effects, insert_events
from central.ingest_lag import IngestLag
from protocols.contract import (
    Ack,
    Channel,
    ContractError,
    Envelope,
    TopicLayout,
    decode_batch,
    validate_envelope,
    validate_envelopes,
)

log = logging.getLogger(__name__)

RAW_LIMIT = 65_536

# FOR UPDATE serialises central workers that share one edge's messages (PostgreSQL).
# Built once: statement construction cost more than running it for a small batch.
CURSOR_FOR_UPDATE = (
    select(edge_cursors.c.applied_seq)
    .where(edge_cursors.c.edge_id == bindparam("edge_id"))
    .with_for_update()
)  # bytes of a bad message kept in the dead-letter table
TOPIC_LIMIT = 512  # dead_letters.topic is String(512); a topic may be far longer


@dataclass(frozen=True)
class Rejected:
    """An event that holds a place in its edge's sequence but failed validation."""

    seq: int
    reason: str
    raw: Any


@dataclass(frozen=True, slots=True)
class Event:
    """A valid event as ingest stores it: the payload is the plain dict that was validated."""

    seq: int
    event_id: str
    kind: str
    station: str
    ts: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, envelope: Envelope) -> Event:
        return cls(
            envelope.seq,
            str(envelope.event_id),
            envelope.kind,
            envelope.station,
            envelope.ts,
            envelope.payload,
        )


Item = Event | Rejected


@dataclass
class Outcome:
    """What one MQTT message did."""

    edge_id: str | None = None
    ack: Ack | None = None
    applied: int = 0
    duplicates: int = 0
    held: int = 0
    dead_lettered: int = 0


@dataclass
class Prepared:
    """A message decoded and validated, ready for ``Ingestor.apply``."""

    topic: str
    edge_id: str | None  # None: the message is refused whole (``refused`` says why)
    candidates: dict[int, Item] = field(default_factory=dict)
    loose: list[tuple[str, Any]] = field(default_factory=list)  # invalid, no place in sequence
    refused: tuple[str, bytes] | None = None
    refused_edge_id: str | None = None
    resent: int = 0  # events this worker already applied, skipped unvalidated
    probe: str | None = None  # a probe's id, echoed by its ack


@dataclass(frozen=True)
class _Step:
    """What one transaction of ``_apply`` did, for the in-memory state once it commits."""

    applied_seq: int
    pending: dict[int, Item]
    run: list[Item]
    duplicates: int


@dataclass
class Gap:
    edge_id: str
    applied_seq: int
    held: int
    first_held_seq: int
    since: float
    alarmed: bool = False


@dataclass
class _Edge:
    applied_seq: int = 0
    held: dict[int, Item] = field(default_factory=dict)
    gap_since: float | None = None
    alarmed: bool = False


def _raw_text(raw: Any) -> str:
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace")
    else:
        try:
            text = orjson.dumps(raw).decode()
        except orjson.JSONEncodeError as exc:  # e.g. nested deeper than orjson writes (255)
            text = f"(not kept: {exc})"
    # PostgreSQL text cannot hold NUL; garbage that contains it must still be dead-lettered.
    return text[:RAW_LIMIT].replace("\x00", "\\x00")


def _already_applied(item: Any, edge_id: str, applied_seq: int) -> bool:
    """An event of ``edge_id`` at or below a seq this worker saw committed: a duplicate.

    ``applied_seq`` only grows, and only after a commit, so this never drops a new event.
    """
    if not isinstance(item, dict) or item.get("edge_id") != edge_id:
        return False
    seq = item.get("seq")
    return type(seq) is int and 1 <= seq <= applied_seq


class Ingestor:
    """Turns MQTT messages on ``.../events`` into stored events, effects and acks."""

    def __init__(
        self,
        engine: Engine,
        layout: TopicLayout | None = None,
        *,
        hold_limit: int = 50_000,
        gap_alarm_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = writing(engine)  # every ingest transaction writes
        self.layout = layout or TopicLayout()
        self.hold_limit = hold_limit
        self.gap_alarm_s = gap_alarm_s
        self.clock = clock
        self._edges: dict[str, _Edge] = {}
        self.totals = Outcome()
        self.lag = IngestLag()

    # -- entry point -----------------------------------------------------------

    def handle(self, topic: str, raw: bytes) -> Outcome:
        """Ingest one MQTT message: ``apply(prepare(...))``."""
        return self.apply(self.prepare(topic, raw))

    def prepare(self, topic: str, raw: bytes) -> Prepared:
        """Decode and validate, touching no database; may run ahead of ``apply``."""
        try:
            address, channel, _ = self.layout.parse(topic)
            if channel is not Channel.EVENTS:
                raise ContractError(f"topic {topic!r} is not an events topic")
            edge_id = address.path
            claimed, items, probe = decode_batch(raw)
        except ContractError as exc:
            return Prepared(topic, None, refused=(exc.reason, raw))
        if claimed != edge_id:
            reason = f"batch edge_id {claimed!r} does not match topic edge {edge_id!r}"
            return Prepared(topic, None, refused=(reason, raw), refused_edge_id=edge_id)

        prepared = Prepared(topic, edge_id, probe=probe)
        state = self._edges.get(edge_id)
        if state is not None and state.applied_seq:
            # A resend after the edge's ack timeout repeats what is stored: skip it before
            # validating, or a central that fell behind spends itself on the copies it caused.
            fresh = [i for i in items if not _already_applied(i, edge_id, state.applied_seq)]
            prepared.resent = len(items) - len(fresh)
            items = fresh
        valid = validate_envelopes(items)
        if valid is not None and all(e.edge_id == edge_id for e in valid):
            # The usual case, in one pass; each payload is kept as the dict that was checked.
            prepared.candidates = {
                e.seq: Event(e.seq, str(e.event_id), e.kind, e.station, e.ts, item["payload"])
                for e, item in zip(valid, items, strict=True)
            }
        else:
            for item in items:
                self._sort(edge_id, item, prepared.candidates, prepared.loose)
        return prepared

    def apply(self, prepared: Prepared) -> Outcome:
        """Store what ``prepare`` found, in sequence order, in one transaction; then the ack."""
        if prepared.edge_id is None:
            assert prepared.refused is not None
            reason, raw = prepared.refused
            outcome = self._dead_letter_message(
                prepared.topic, prepared.refused_edge_id, reason, raw
            )
        elif self._only_resent(prepared):
            # Nothing new and nothing held: answer from memory, without a transaction.
            # Never a probe (it has no events): its answer must be the cursor row, which
            # another worker may have moved past this worker's memory.
            state = self._edges[prepared.edge_id]
            outcome = Outcome(edge_id=prepared.edge_id, duplicates=prepared.resent)
            outcome.ack = Ack(
                edge_id=prepared.edge_id, acked_seq=state.applied_seq, ts=datetime.now(UTC)
            )
        else:
            outcome = self._apply(
                prepared.topic,
                prepared.edge_id,
                prepared.candidates,
                prepared.loose,
                probe=prepared.probe,
            )
            self._check_gap(prepared.edge_id, outcome)
            outcome.duplicates += prepared.resent
        for name in ("applied", "duplicates", "held", "dead_lettered"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(outcome, name))
        return outcome

    def _only_resent(self, prepared: Prepared) -> bool:
        if not prepared.resent or prepared.candidates or prepared.loose:
            return False
        state = self._edges.get(prepared.edge_id or "")
        return state is not None and not state.held

    def _sort(
        self, edge_id: str, item: Any, candidates: dict[int, Item], loose: list[tuple[str, Any]]
    ) -> None:
        seq = item.get("seq") if isinstance(item, dict) else None
        sender = item.get("edge_id") if isinstance(item, dict) else None
        try:
            envelope = validate_envelope(item)
        except ContractError as exc:
            if sender == edge_id and type(seq) is int and 1 <= seq < 2**63:
                candidates[seq] = Rejected(seq, exc.reason, item)
            else:
                loose.append((exc.reason, item))
            return
        if envelope.edge_id != edge_id:
            loose.append(
                (f"event edge_id {envelope.edge_id!r} does not match topic edge {edge_id!r}", item)
            )
            return
        candidates[envelope.seq] = Event.of(envelope)

    # -- storage ---------------------------------------------------------------

    def _apply(
        self,
        topic: str,
        edge_id: str,
        candidates: dict[int, Item],
        loose: list[tuple[str, Any]],
        *,
        probe: str | None = None,
    ) -> Outcome:
        state = self._edges.setdefault(edge_id, _Edge())
        try:
            with self.engine.begin() as conn:
                step = self._apply_in(conn, topic, edge_id, state, candidates, loose, alone=False)
        except IntegrityError:
            # A clash inside the run (e.g. a reused event id): do it again one by one, so
            # only the clashing events are dead-lettered and the sequence goes on.
            with self.engine.begin() as conn:
                step = self._apply_in(conn, topic, edge_id, state, candidates, loose, alone=True)
        # Committed: now the in-memory hold may follow.
        self.lag.observe(edge_id, (item.ts for item in step.run if isinstance(item, Event)))
        outcome = Outcome(edge_id=edge_id, duplicates=step.duplicates)
        outcome.applied = sum(isinstance(item, Event) for item in step.run)
        outcome.dead_lettered = len(loose) + sum(isinstance(i, Rejected) for i in step.run)
        state.applied_seq = step.applied_seq
        state.held = {s: i for s, i in step.pending.items() if s > step.applied_seq}
        if probe is not None:
            # The edge numbers its next events from the answer: what is held above it may be
            # of a run the edge lost, and would take those numbers from the new events.
            # What the edge still has it sends again.
            log.info(
                "answered an edge's probe",
                extra={
                    "edge_id": edge_id,
                    "acked_seq": step.applied_seq,
                    "held_dropped": len(state.held),
                },
            )
            state.held = {}
        if len(state.held) > self.hold_limit:
            for seq in sorted(state.held)[self.hold_limit :]:
                del state.held[seq]  # the edge sends it again later
        outcome.held = len(state.held)
        outcome.ack = Ack(
            edge_id=edge_id, acked_seq=step.applied_seq, ts=datetime.now(UTC), probe=probe
        )
        return outcome

    def _apply_in(
        self,
        conn: Connection,
        topic: str,
        edge_id: str,
        state: _Edge,
        candidates: dict[int, Item],
        loose: list[tuple[str, Any]],
        *,
        alone: bool,
    ) -> _Step:
        applied_seq = self._cursor(conn, edge_id)
        pending = dict(state.held)
        duplicates = 0
        for seq, item in candidates.items():
            if seq <= applied_seq:
                duplicates += 1
            elif seq not in pending:
                pending[seq] = item
        run: list[Item] = []
        nxt = applied_seq + 1
        while nxt in pending:
            run.append(pending.pop(nxt))
            nxt += 1
        if alone:
            run = [self._store_alone(conn, edge_id, item, topic) for item in run]
        else:
            self._store_run(conn, edge_id, run, topic)
        if run:
            self._set_cursor(conn, edge_id, nxt - 1)
        self._dead_letters(conn, topic, edge_id, [(None, reason, raw) for reason, raw in loose])
        return _Step(nxt - 1, pending, run, duplicates)

    def _store_run(self, conn: Connection, edge_id: str, run: list[Item], topic: str) -> None:
        good = [item for item in run if isinstance(item, Event)]
        if good:
            insert_events(conn, edge_id, good, datetime.now(UTC))
            apply_effects(conn, edge_id, good)
        self._dead_letters(
            conn,
            topic,
            edge_id,
            [(item.seq, item.reason, item.raw) for item in run if isinstance(item, Rejected)],
        )

    def _store_alone(self, conn: Connection, edge_id: str, item: Item, topic: str) -> Item:
        try:
            with conn.begin_nested():
                self._store_run(conn, edge_id, [item], topic)
            return item
        except IntegrityError as exc:
            assert isinstance(item, Event)
            reason = f"clashes with a stored event: {exc.orig}"
            raw = {
                "seq": item.seq,
                "event_id": item.event_id,
                "kind": item.kind,
                "station": item.station,
                "ts": item.ts.isoformat(),
                "payload": item.payload,
            }
            rejected = Rejected(item.seq, reason, raw)
            self._store_run(conn, edge_id, [rejected], topic)
            return rejected

    def _cursor(self, conn: Connection, edge_id: str) -> int:
        value = conn.execute(CURSOR_FOR_UPDATE, {"edge_id": edge_id}).scalar_one_or_none()
        return int(value or 0)

    def _set_cursor(self, conn: Connection, edge_id: str, seq: int) -> None:
        upsert(
            conn,
            edge_cursors,
            [{"edge_id": edge_id, "applied_seq": seq, "updated_at": datetime.now(UTC)}],
            replace=("applied_seq", "updated_at"),
        )

    def _dead_letters(
        self,
        conn: Connection,
        topic: str,
        edge_id: str | None,
        rows: Iterable[tuple[int | None, str, Any]],
    ) -> None:
        now = datetime.now(UTC)
        values = [
            {
                "received_at": now,
                "topic": topic[:TOPIC_LIMIT],
                "edge_id": edge_id,
                "seq": seq,
                "reason": reason,
                "raw": _raw_text(raw),
            }
            for seq, reason, raw in rows
        ]
        if values:
            conn.execute(insert(dead_letters), values)
            for v in values:
                log.warning(
                    "dead-lettered",
                    extra={
                        "topic": topic,
                        "edge_id": edge_id,
                        "seq": v["seq"],
                        "reason": v["reason"],
                    },
                )

    def _dead_letter_message(
        self, topic: str, edge_id: str | None, reason: str, raw: bytes
    ) -> Outcome:
        with self.engine.begin() as conn:
            self._dead_letters(conn, topic, edge_id, [(None, reason, raw)])
        return Outcome(edge_id=None, dead_lettered=1)

    # -- gaps ------------------------------------------------------------------

    def _check_gap(self, edge_id: str, outcome: Outcome) -> None:
        state = self._edges[edge_id]
        if not state.held:
            if state.alarmed:
                log.info("sequence gap filled", extra={"edge_id": edge_id})
            state.gap_since, state.alarmed = None, False
            return
        now = self.clock()
        if state.gap_since is None:
            state.gap_since = now
        if not state.alarmed and now - state.gap_since >= self.gap_alarm_s:
            state.alarmed = True
            log.error(
                "sequence gap persists",
                extra={
                    "edge_id": edge_id,
                    "waiting_for_seq": (outcome.ack.acked_seq + 1) if outcome.ack else None,
                    "held": len(state.held),
                    "for_s": round(now - state.gap_since, 1),
                },
            )

    def gaps(self) -> list[Gap]:
        """Edges whose events are held behind a missing sequence number."""
        now = self.clock()
        result = []
        for edge_id, state in self._edges.items():
            if state.held and state.gap_since is not None:
                first = min(state.held)
                since = now - state.gap_since
                held = len(state.held)
                result.append(Gap(edge_id, state.applied_seq, held, first, since, state.alarmed))
        return result
