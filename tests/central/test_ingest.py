"""The Ingestor: each (edge, seq) stored once with its effect, in order, then acknowledged."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, event, select, text

from central.db import reading, writing
from central.db.schema import edge_cursors, events, machine_states, station_totals
from central.ingest import Ingestor
from tests.central.conftest import (
    EDGE,
    EDGE_B,
    FakeClock,
    batch,
    cursor,
    dead,
    envelope,
    events_topic,
    report,
    rows,
    stored_seqs,
)

TOPIC = events_topic(EDGE)


@pytest.fixture
def ingestor(engine: Engine) -> Ingestor:
    return Ingestor(engine)


def totals(engine: Engine) -> dict[tuple[str, str, str], tuple[int, int, int, float, int]]:
    """station_totals of EDGE as {(station, work_order, operation): (good, scrap, rework, h, n)}."""
    return {
        (r["station"], r["work_order"], r["operation"]): (
            r["good"],
            r["scrap"],
            r["rework"],
            r["labour_hours"],
            r["reports"],
        )
        for r in rows(engine, station_totals)
        if r["edge_id"] == EDGE
    }


# -- in order, duplicates, out of order ------------------------------------------------------


def test_in_order_batch_is_stored_applied_and_acked(engine: Engine, ingestor: Ingestor) -> None:
    sent = [envelope(1, report(good=5)), envelope(2, report(good=7)), envelope(3, report(good=1))]

    outcome = ingestor.handle(TOPIC, batch(*sent))

    assert (outcome.applied, outcome.duplicates, outcome.held, outcome.dead_lettered) == (
        3,
        0,
        0,
        0,
    )
    assert outcome.ack is not None
    assert (outcome.ack.edge_id, outcome.ack.acked_seq) == (EDGE, 3)
    stored = rows(engine, events)
    assert [(r["edge_id"], r["seq"]) for r in stored] == [(EDGE, 1), (EDGE, 2), (EDGE, 3)]
    assert [r["event_id"] for r in stored] == [e["event_id"] for e in sent]
    assert [r["payload"] for r in stored] == [e["payload"] for e in sent]
    assert {(r["kind"], r["station"]) for r in stored} == {("production_report", "ST-1")}
    assert stored[0]["source_ts"] == datetime(2026, 3, 2, 7, tzinfo=UTC)
    assert cursor(engine) == 3
    assert dead(engine) == []
    assert totals(engine) == {("ST-1", "WO-1", "10"): (13, 3, 0, 0.0, 3)}


def test_same_batch_again_counts_duplicates_stores_nothing_and_acks_again(
    engine: Engine, ingestor: Ingestor
) -> None:
    message = batch(envelope(1), envelope(2))
    ingestor.handle(TOPIC, message)

    again = ingestor.handle(TOPIC, message)

    assert (again.applied, again.duplicates, again.held, again.dead_lettered) == (0, 2, 0, 0)
    assert again.ack is not None and again.ack.acked_seq == 2
    assert stored_seqs(engine) == [1, 2]
    assert cursor(engine) == 2
    assert totals(engine) == {("ST-1", "WO-1", "10"): (10, 2, 0, 0.0, 2)}
    assert dead(engine) == []
    assert (ingestor.totals.applied, ingestor.totals.duplicates) == (2, 2)


def test_batch_ahead_of_a_gap_is_held_until_the_gap_fills(
    engine: Engine, ingestor: Ingestor
) -> None:
    first, second = batch(envelope(1), envelope(2)), batch(envelope(3), envelope(4))

    early = ingestor.handle(TOPIC, second)

    assert (early.applied, early.held) == (0, 2)
    assert early.ack is not None and early.ack.acked_seq == 0
    assert rows(engine, events) == []
    assert rows(engine, station_totals) == []
    assert cursor(engine) is None

    filled = ingestor.handle(TOPIC, first)

    assert (filled.applied, filled.held, filled.duplicates) == (4, 0, 0)
    assert filled.ack is not None and filled.ack.acked_seq == 4
    assert stored_seqs(engine) == [1, 2, 3, 4]  # stored in sequence order
    assert cursor(engine) == 4
    assert ingestor.gaps() == []


def test_gaps_report_what_is_held_behind_a_missing_seq(engine: Engine) -> None:
    clock = FakeClock()
    ingestor = Ingestor(engine, clock=clock)
    ingestor.handle(TOPIC, batch(envelope(1)))
    assert ingestor.gaps() == []

    ingestor.handle(TOPIC, batch(envelope(4), envelope(3)))
    clock.now += 5

    [gap] = ingestor.gaps()
    assert (gap.edge_id, gap.applied_seq, gap.held, gap.first_held_seq) == (EDGE, 1, 2, 3)
    assert gap.since == pytest.approx(5.0)
    assert not gap.alarmed

    ingestor.handle(TOPIC, batch(envelope(2)))
    assert ingestor.gaps() == []
    assert stored_seqs(engine) == [1, 2, 3, 4]


def test_gap_alarm_is_logged_once_after_gap_alarm_s(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    ingestor = Ingestor(engine, gap_alarm_s=30.0, clock=clock)
    caplog.set_level(logging.INFO, logger="central.ingest")
    held = batch(envelope(2), envelope(3))

    def alarms() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "sequence gap persists"]

    ingestor.handle(TOPIC, held)
    clock.now += 29.9
    ingestor.handle(TOPIC, held)  # the edge resends what is not acknowledged
    assert alarms() == []

    clock.now += 0.1
    ingestor.handle(TOPIC, held)
    [alarm] = alarms()
    assert alarm.levelno == logging.ERROR
    assert alarm.__dict__["edge_id"] == EDGE
    assert alarm.__dict__["waiting_for_seq"] == 1
    assert alarm.__dict__["held"] == 2
    [gap] = ingestor.gaps()
    assert gap.alarmed

    clock.now += 60
    ingestor.handle(TOPIC, held)
    assert len(alarms()) == 1  # logged when it starts, not on every message

    ingestor.handle(TOPIC, batch(envelope(1)))
    assert any(r.getMessage() == "sequence gap filled" for r in caplog.records)
    assert ingestor.gaps() == []
    assert stored_seqs(engine) == [1, 2, 3]


# -- bad input -----------------------------------------------------------------------------


def _bad_payload(e: dict[str, Any]) -> None:
    e["payload"] = report(good=-1)


def _unknown_kind(e: dict[str, Any]) -> None:
    e["kind"] = "coffee_break"


def _no_event_id(e: dict[str, Any]) -> None:
    del e["event_id"]


def _extra_field(e: dict[str, Any]) -> None:
    e["payload"] = {**e["payload"], "bonus": 1}


def _down_without_reason(e: dict[str, Any]) -> None:
    e["kind"] = "machine_state"
    e["payload"] = {"machine": "M1", "state": "down", "since": "2026-03-02T07:00:00Z"}


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_bad_payload, "production_report payload good: Input should be greater than or equal"),
        (_unknown_kind, "unknown event kind 'coffee_break'"),
        (_no_event_id, "envelope event_id: Field required"),
        (_extra_field, "production_report payload bonus: Extra inputs are not permitted"),
        (_down_without_reason, "machine_state payload"),
    ],
)
def test_invalid_event_is_dead_lettered_in_its_place_and_the_sequence_goes_on(
    engine: Engine, ingestor: Ingestor, spoil: Any, reason: str
) -> None:
    bad = envelope(2, report(good=100))
    spoil(bad)

    outcome = ingestor.handle(TOPIC, batch(envelope(1), bad, envelope(3)))

    assert (outcome.applied, outcome.dead_lettered, outcome.held) == (2, 1, 0)
    assert outcome.ack is not None and outcome.ack.acked_seq == 3  # the ack covers it
    assert stored_seqs(engine) == [1, 3]
    assert cursor(engine) == 3
    [letter] = dead(engine)
    assert (letter["topic"], letter["edge_id"], letter["seq"]) == (TOPIC, EDGE, 2)
    assert letter["reason"].startswith(reason), letter["reason"]
    assert orjson.loads(letter["raw"]) == bad
    assert totals(engine) == {("ST-1", "WO-1", "10"): (10, 2, 0, 0.0, 2)}

    following = ingestor.handle(TOPIC, batch(envelope(4)))
    assert following.ack is not None and following.ack.acked_seq == 4
    assert stored_seqs(engine) == [1, 3, 4]


def test_invalid_event_behind_a_gap_is_held_like_any_other(
    engine: Engine, ingestor: Ingestor
) -> None:
    bad = envelope(2, report(good=-1))
    held = ingestor.handle(TOPIC, batch(bad))
    assert (held.held, held.dead_lettered) == (1, 0)
    assert dead(engine) == []

    outcome = ingestor.handle(TOPIC, batch(envelope(1)))

    assert outcome.ack is not None and outcome.ack.acked_seq == 2
    assert stored_seqs(engine) == [1]
    assert [(d["seq"], d["edge_id"]) for d in dead(engine)] == [(2, EDGE)]


def test_batch_whose_edge_id_is_not_its_topics_is_dead_lettered_unacked(
    engine: Engine, ingestor: Ingestor
) -> None:
    ingestor.handle(TOPIC, batch(envelope(1)))
    spoof_topic = events_topic(EDGE_B)
    spoof = batch(envelope(2), envelope(3))  # EDGE's events sent on EDGE_B's branch

    outcome = ingestor.handle(spoof_topic, spoof)

    assert outcome.ack is None
    assert (outcome.applied, outcome.dead_lettered) == (0, 1)
    assert stored_seqs(engine) == [1]
    assert stored_seqs(engine, EDGE_B) == []
    assert cursor(engine) == 1
    assert cursor(engine, EDGE_B) is None
    [letter] = dead(engine)
    assert (letter["topic"], letter["edge_id"], letter["seq"]) == (spoof_topic, EDGE_B, None)
    assert letter["reason"] == f"batch edge_id {EDGE!r} does not match topic edge {EDGE_B!r}"
    assert letter["raw"] == spoof.decode()
    assert totals(engine) == {("ST-1", "WO-1", "10"): (5, 1, 0, 0.0, 1)}


def test_event_claiming_another_edge_is_dead_lettered_not_applied(
    engine: Engine, ingestor: Ingestor
) -> None:
    stranger = envelope(2, edge_id=EDGE_B)

    outcome = ingestor.handle(TOPIC, batch(envelope(1), stranger))

    assert (outcome.applied, outcome.dead_lettered) == (1, 1)
    assert outcome.ack is not None and outcome.ack.acked_seq == 1
    assert stored_seqs(engine) == [1]
    assert stored_seqs(engine, EDGE_B) == []
    assert cursor(engine, EDGE_B) is None
    with engine.connect() as conn:
        assert conn.execute(select(edge_cursors.c.edge_id)).scalars().all() == [EDGE]
    [letter] = dead(engine)
    assert (letter["edge_id"], letter["seq"]) == (EDGE, None)
    assert letter["reason"] == f"event edge_id {EDGE_B!r} does not match topic edge {EDGE!r}"
    assert orjson.loads(letter["raw"]) == stranger


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00\xff{not json", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "batch is not a JSON object"),
        (b'{"v": 2, "edge_id": "' + EDGE.encode() + b'", "events": []}', "unsupported contract"),
        (b'{"edge_id": "' + EDGE.encode() + b'", "events": []}', "unsupported contract version"),
        (b'{"v": true, "edge_id": "' + EDGE.encode() + b'", "events": []}', "unsupported"),
        (b'{"v": 1, "edge_id": "' + EDGE.encode() + b'"}', "batch must be {v, edge_id, events"),
        (b'{"v": 1, "edge_id": "' + EDGE.encode() + b'", "events": {}}', "batch must be"),
        (b'{"v": 1, "edge_id": "' + EDGE.encode() + b'", "events": [], "x": 1}', "batch must"),
    ],
)
def test_undecodable_message_is_dead_lettered_unacked(
    engine: Engine, ingestor: Ingestor, raw: bytes, reason: str
) -> None:
    outcome = ingestor.handle(TOPIC, raw)

    assert outcome.ack is None
    assert (outcome.applied, outcome.dead_lettered) == (0, 1)
    [letter] = dead(engine)
    assert letter["reason"].startswith(reason), letter["reason"]
    assert (letter["topic"], letter["seq"]) == (TOPIC, None)
    assert rows(engine, events) == []
    assert rows(engine, edge_cursors) == []


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        (f"elsewhere/v1/{EDGE}/events", "is not under floorsync/v1/"),
        (f"floorsync/v2/{EDGE}/events", "is not under floorsync/v1/"),
        ("floorsync/v1/plant1/assembly/line1/events", "is not under floorsync/v1/"),
        (f"floorsync/v1/{EDGE}/status", "is not an events topic"),
        (f"floorsync/v1/{EDGE}/gossip", "has unknown channel 'gossip'"),
        (f"floorsync/v1/{EDGE}/events/more", "has extra levels after 'events'"),
        ("floorsync/v1/plant 1/assembly/line1/edge1/events", "site 'plant 1' is not a valid"),
        ("floorsync/v1/" + "s" * 600 + "/assembly/line1/edge1/events", "site 'sss"),
    ],
)
def test_message_on_a_topic_outside_the_layout_is_dead_lettered(
    engine: Engine, ingestor: Ingestor, topic: str, reason: str
) -> None:
    outcome = ingestor.handle(topic, batch(envelope(1)))

    assert outcome.ack is None
    assert outcome.dead_lettered == 1
    [letter] = dead(engine)
    assert reason in letter["reason"], letter["reason"]
    assert letter["edge_id"] is None
    assert topic.startswith(letter["topic"])
    assert rows(engine, events) == []
    assert rows(engine, edge_cursors) == []


def test_reused_event_id_is_dead_lettered_and_the_sequence_goes_on(
    engine: Engine, ingestor: Ingestor
) -> None:
    reused = uuid.uuid4()
    ingestor.handle(TOPIC, batch(envelope(1, event_id=reused)))

    clash = envelope(2, report(good=50), event_id=reused)
    outcome = ingestor.handle(TOPIC, batch(clash, envelope(3)))

    assert (outcome.applied, outcome.dead_lettered, outcome.duplicates) == (1, 1, 0)
    assert outcome.ack is not None and outcome.ack.acked_seq == 3
    assert stored_seqs(engine) == [1, 3]
    assert cursor(engine) == 3
    [letter] = dead(engine)
    assert (letter["edge_id"], letter["seq"]) == (EDGE, 2)
    assert "clashes with a stored event" in letter["reason"]
    assert orjson.loads(letter["raw"])["event_id"] == str(reused)
    assert totals(engine) == {("ST-1", "WO-1", "10"): (10, 2, 0, 0.0, 2)}  # seq 2 not counted


def test_reused_event_id_within_one_batch(engine: Engine, ingestor: Ingestor) -> None:
    reused = uuid.uuid4()
    sent = [envelope(1, event_id=reused), envelope(2, event_id=reused), envelope(3)]

    outcome = ingestor.handle(TOPIC, batch(*sent))

    assert (outcome.applied, outcome.dead_lettered) == (2, 1)
    assert outcome.ack is not None and outcome.ack.acked_seq == 3
    assert stored_seqs(engine) == [1, 3]
    assert [(d["seq"], "clashes with a stored event" in d["reason"]) for d in dead(engine)] == [
        (2, True)
    ]
    assert totals(engine) == {("ST-1", "WO-1", "10"): (10, 2, 0, 0.0, 2)}


# -- effects -------------------------------------------------------------------------------


def test_production_report_totals_add_up_exactly_once(engine: Engine, ingestor: Ingestor) -> None:
    crew = [
        {"operator": "OP-1", "good": 3, "scrap": 1, "labour_hours": 1.0},
        {"operator": "OP-2", "good": 2, "scrap": 0, "labour_hours": 0.5},
    ]
    e1 = envelope(1, report(good=5, scrap=1, rework=2, labour_hours=1.5, crew=crew))
    e2 = envelope(2, report(good=10, scrap=0))
    e3 = envelope(3, report(good=4, scrap=2, operation="20"))
    e4 = envelope(4, report(good=1, scrap=1), station="ST-2")
    e5 = envelope(5, {"operator": "OP-1"}, kind="operator_login")

    ingestor.handle(TOPIC, batch(e1, e2))
    ingestor.handle(TOPIC, batch(e1, e2))  # resent: the ack was lost
    ingestor.handle(TOPIC, batch(e4, e5))  # held behind seq 3
    ingestor.handle(TOPIC, batch(e2, e3, e4))
    outcome = ingestor.handle(TOPIC, batch(e1, e2, e3, e4, e5))

    assert outcome.duplicates == 5
    assert stored_seqs(engine) == [1, 2, 3, 4, 5]
    assert totals(engine) == {
        ("ST-1", "WO-1", "10"): (15, 1, 2, 1.5, 2),
        ("ST-1", "WO-1", "20"): (4, 2, 0, 0.0, 1),
        ("ST-2", "WO-1", "10"): (1, 1, 0, 0.0, 1),
    }


def test_numbers_as_text_are_dead_lettered_not_added(engine: Engine, ingestor: Ingestor) -> None:
    lax = envelope(1, report(good="5", scrap=True))

    outcome = ingestor.handle(TOPIC, batch(lax, envelope(2, report(good=2))))

    assert outcome.ack is not None and outcome.ack.acked_seq == 2
    [letter] = dead(engine)
    assert letter["seq"] == 1
    assert letter["reason"].startswith("production_report payload good: Input should be a valid")
    assert totals(engine) == {("ST-1", "WO-1", "10"): (2, 1, 0, 0.0, 1)}


def _machine(seq: int, machine: str, state: str, since: str, reason: str | None = None) -> Any:
    payload = {"machine": machine, "state": state, "since": since}
    if reason:
        payload["reason"] = reason
    return envelope(seq, payload, kind="machine_state")


def test_machine_state_keeps_the_latest_by_seq(engine: Engine, ingestor: Ingestor) -> None:
    down = _machine(2, "M1", "down", "2026-03-02T08:15:00+02:00", reason="jam at infeed")
    running = _machine(1, "M1", "running", "2026-03-02T06:00:00Z")
    idle = _machine(3, "M2", "idle", "2026-03-02T06:30:00Z")

    ingestor.handle(TOPIC, batch(down, idle))  # held: arrives before seq 1
    ingestor.handle(TOPIC, batch(running))
    ingestor.handle(TOPIC, batch(running, down))  # duplicates change nothing

    assert [
        (r["machine"], r["state"], r["reason"], r["seq"], r["since"])
        for r in rows(engine, machine_states)
    ] == [
        ("M1", "down", "jam at infeed", 2, datetime(2026, 3, 2, 6, 15, tzinfo=UTC)),
        ("M2", "idle", None, 3, datetime(2026, 3, 2, 6, 30, tzinfo=UTC)),
    ]

    ingestor.handle(TOPIC, batch(_machine(4, "M1", "running", "2026-03-02T06:40:00Z")))
    m1 = rows(engine, machine_states)[0]
    assert (m1["state"], m1["reason"], m1["seq"]) == ("running", None, 4)


def test_event_timestamps_are_stored_in_utc(engine: Engine, ingestor: Ingestor) -> None:
    ingestor.handle(TOPIC, batch(envelope(1, ts="2026-03-02T09:30:00+02:00")))

    [stored] = rows(engine, events)
    assert stored["source_ts"] == datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
    assert stored["source_ts"].utcoffset().total_seconds() == 0
    assert stored["ingested_at"].tzinfo is not None


# -- limits, isolation, atomicity -------------------------------------------------------


def test_hold_limit_keeps_the_lowest_seqs_and_the_rest_comes_again(engine: Engine) -> None:
    ingestor = Ingestor(engine, hold_limit=2)
    sent = {seq: envelope(seq) for seq in range(1, 6)}

    outcome = ingestor.handle(TOPIC, batch(sent[5], sent[4], sent[3], sent[2]))
    assert outcome.held == 2
    [gap] = ingestor.gaps()
    assert (gap.held, gap.first_held_seq) == (2, 2)

    filled = ingestor.handle(TOPIC, batch(sent[1]))
    assert filled.ack is not None and filled.ack.acked_seq == 3  # 4 and 5 were dropped
    assert stored_seqs(engine) == [1, 2, 3]

    resent = ingestor.handle(TOPIC, batch(sent[4], sent[5]))
    assert resent.ack is not None and resent.ack.acked_seq == 5
    assert stored_seqs(engine) == [1, 2, 3, 4, 5]


def test_hold_limit_zero_holds_nothing(engine: Engine) -> None:
    ingestor = Ingestor(engine, hold_limit=0)

    outcome = ingestor.handle(TOPIC, batch(envelope(2)))

    assert outcome.held == 0
    assert ingestor.gaps() == []
    assert rows(engine, events) == []


def test_two_edges_keep_independent_sequences(engine: Engine, ingestor: Ingestor) -> None:
    topic_b = events_topic(EDGE_B)

    a = ingestor.handle(TOPIC, batch(envelope(1), envelope(2)))
    b = ingestor.handle(
        topic_b, batch(*(envelope(s, edge_id=EDGE_B) for s in (1, 2, 3)), edge_id=EDGE_B)
    )
    b_gap = ingestor.handle(topic_b, batch(envelope(5, edge_id=EDGE_B), edge_id=EDGE_B))
    a_next = ingestor.handle(TOPIC, batch(envelope(3)))

    assert a.ack is not None and b.ack is not None and a_next.ack is not None
    assert b_gap.ack is not None
    assert (a.ack.edge_id, a.ack.acked_seq) == (EDGE, 2)
    assert (b.ack.edge_id, b.ack.acked_seq) == (EDGE_B, 3)
    assert (b_gap.ack.acked_seq, b_gap.held) == (3, 1)
    assert (a_next.ack.acked_seq, a_next.held) == (3, 0)  # EDGE_B's gap does not hold EDGE
    assert stored_seqs(engine, EDGE) == [1, 2, 3]
    assert stored_seqs(engine, EDGE_B) == [1, 2, 3]
    assert (cursor(engine, EDGE), cursor(engine, EDGE_B)) == (3, 3)
    assert [g.edge_id for g in ingestor.gaps()] == [EDGE_B]


@pytest.fixture
def failing_cursor_write(engine: Engine) -> Iterator[list[int]]:
    """Makes the cursor write fail once: a crash after the events and effects were written."""
    failures = [1]

    def fail(_conn: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if failures and statement.startswith("INSERT INTO edge_cursors"):
            failures.pop()
            raise RuntimeError("power cut")

    event.listen(engine, "before_cursor_execute", fail)
    yield failures
    event.remove(engine, "before_cursor_execute", fail)


def test_a_failure_before_commit_leaves_nothing_and_the_resend_applies_once(
    engine: Engine, ingestor: Ingestor, failing_cursor_write: list[int]
) -> None:
    message = batch(envelope(1), envelope(2, report(good=3)))

    with pytest.raises(RuntimeError, match="power cut"):
        ingestor.handle(TOPIC, message)

    assert failing_cursor_write == []
    assert rows(engine, events) == []
    assert rows(engine, station_totals) == []
    assert cursor(engine) is None

    outcome = ingestor.handle(TOPIC, message)

    assert (outcome.applied, outcome.dead_lettered) == (2, 0)
    assert outcome.ack is not None and outcome.ack.acked_seq == 2
    assert stored_seqs(engine) == [1, 2]
    assert dead(engine) == []
    assert totals(engine) == {("ST-1", "WO-1", "10"): (8, 2, 0, 0.0, 2)}


def test_sqlite_writers_queue_at_begin_so_a_read_then_write_never_fails(
    sqlite_engine: Engine,
) -> None:
    """A deferred transaction that read before another writer committed could not write
    ("database is locked", no busy wait); SQLite transactions take the lock at BEGIN,
    unless read-only work asks not to."""
    holding, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with writing(sqlite_engine).begin() as conn:
            conn.execute(text("UPDATE edge_cursors SET applied_seq = applied_seq"))
            holding.set()
            release.wait(5)

    other = threading.Thread(target=hold_the_write_lock)
    other.start()
    assert holding.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    with writing(sqlite_engine).begin() as conn:  # waits here for the other writer
        waited = time.monotonic() - started
        conn.execute(text("SELECT count(*) FROM events"))
    other.join(5)
    assert waited >= 0.25
    with reading(sqlite_engine).connect() as conn:  # a reader never waits for a writer
        holding.clear()
        release.clear()
        other = threading.Thread(target=hold_the_write_lock)
        other.start()
        assert holding.wait(5)
        started = time.monotonic()
        conn.execute(text("SELECT count(*) FROM events"))
        assert time.monotonic() - started < 0.25
        release.set()
        other.join(5)
    assert Ingestor(sqlite_engine).engine.get_execution_options()["sqlite_begin"] == (
        "BEGIN IMMEDIATE"
    )
