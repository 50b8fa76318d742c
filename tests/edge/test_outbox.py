"""The outbox: durable before "accepted", gap-free sequence numbers never reused, clear errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from edge.outbox import Outbox
from edge.store import Writer
from protocols.contract import ContractError, validate_envelope
from tests.edge.support import EDGE_ID, append_many, login


def committed_rows(path: Path) -> list[tuple[int, str]]:
    """What another process would see: a fresh connection, not the writer's."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT seq, event_id FROM outbox ORDER BY seq").fetchall()


def stored_state(path: Path) -> tuple[int, float | None]:
    with closing(sqlite3.connect(path)) as conn:
        acked, last_ack_at = conn.execute(
            "SELECT acked_seq, last_ack_at FROM outbox_state"
        ).fetchone()
        return acked, last_ack_at


def test_append_returns_once_the_row_is_visible_to_another_connection(
    outbox: Outbox, writer: Writer
) -> None:
    for n in range(1, 4):
        recorded = outbox.append(*login(n))
        assert recorded.seq == n
        assert committed_rows(writer.path)[-1] == (n, recorded.event_id)


def test_sequence_has_no_gaps_under_concurrent_appends(outbox: Outbox, writer: Writer) -> None:
    threads, per_thread = 8, 40
    results: list[list[int]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def worker(i: int) -> None:
        start.wait()
        for n in range(per_thread):
            results[i].append(outbox.append(*login(n)).seq)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    total = threads * per_thread
    seqs = sorted(seq for r in results for seq in r)
    assert seqs == list(range(1, total + 1))
    for r in results:  # each caller sees its own events in the order it recorded them
        assert r == sorted(r)
    rows = committed_rows(writer.path)
    assert [seq for seq, _ in rows] == list(range(1, total + 1))
    assert len({event_id for _, event_id in rows}) == total
    assert outbox.last_seq == total


@pytest.mark.parametrize(
    ("kind", "station", "payload", "reason"),
    [
        ("coffee_break", "ST-1", {"operator": "op1"}, "unknown event kind 'coffee_break'"),
        ("operator_login", "ST-1", {}, "operator_login payload operator: Field required"),
        ("operator_login", "ST-1", {"operator": ""}, "operator_login payload operator: String"),
        ("operator_login", "ST-1", {"operator": "op1", "pin": "1234"}, "payload pin: Extra"),
        (
            "production_report",
            "ST-1",
            {
                "work_order": "WO-1",
                "operation": "10",
                "good": 5,
                "scrap": 0,
                "period_start": "2024-05-01T10:00:00Z",
                "period_end": "2024-05-01T09:00:00Z",
            },
            "period_end is before period_start",
        ),
        ("operator_login", "bad station!", {"operator": "op1"}, "not a valid station code"),
        ("operator_login", "", {"operator": "op1"}, "not a valid station code"),
    ],
)
def test_invalid_events_raise_a_clear_error_and_store_nothing(
    outbox: Outbox, writer: Writer, kind: str, station: str, payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ContractError) as caught:
        outbox.append(kind, station, payload)
    assert reason in caught.value.reason
    assert committed_rows(writer.path) == []
    assert outbox.last_seq == 0
    assert outbox.append(*login(1)).seq == 1  # the failed event used up no number


def test_a_timestamp_without_time_zone_is_refused(outbox: Outbox, writer: Writer) -> None:
    with pytest.raises(ContractError, match="time zone"):
        outbox.append(*login(1), ts=datetime(2024, 5, 1, 10, 0))
    assert committed_rows(writer.path) == []


def test_body_is_a_valid_envelope(outbox: Outbox) -> None:
    ts = datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    outbox.append(*login(0))
    payload = {"machine": "M1", "state": "idle", "since": ts.isoformat()}
    recorded = outbox.append("machine_state", "ST-9", payload, ts)
    [(seq, body)] = outbox.read_after(1, 10)
    envelope = validate_envelope(orjson.loads(body))
    assert seq == envelope.seq == recorded.seq == 2
    assert str(envelope.event_id) == recorded.event_id
    assert envelope.edge_id == EDGE_ID
    assert (envelope.kind, envelope.station) == ("machine_state", "ST-9")
    assert envelope.ts == ts and envelope.ts.utcoffset() == timedelta(0)  # stored in UTC
    assert envelope.payload["since"] == "2024-05-01T08:30:15.123456+02:00"


def test_ack_deletes_up_to_seq_and_persists(outbox: Outbox, writer: Writer) -> None:
    append_many(outbox, 5)
    assert outbox.ack(3).result(10) == 3
    assert [seq for seq, _ in committed_rows(writer.path)] == [4, 5]
    acked, last_ack_at = stored_state(writer.path)
    assert acked == 3 and last_ack_at is not None
    assert outbox.acked_seq == 3
    # an older or repeated ack changes nothing
    assert outbox.ack(2).result(10) == 3
    assert outbox.ack(3).result(10) == 3
    assert [seq for seq, _ in committed_rows(writer.path)] == [4, 5]


def test_ack_beyond_the_last_seq_is_clamped(outbox: Outbox, writer: Writer) -> None:
    append_many(outbox, 4)
    assert outbox.ack(99).result(10) == 4
    assert committed_rows(writer.path) == []
    assert stored_state(writer.path)[0] == 4
    assert outbox.append(*login(5)).seq == 5


def test_seq_continues_after_reopening_even_when_everything_was_acked(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    writer = Writer(path)
    box = Outbox(writer, EDGE_ID)
    append_many(box, 3)
    box.ack(3).result(10)
    box.close()
    writer.close()
    assert committed_rows(path) == []

    writer = Writer(path)
    box = Outbox(writer, EDGE_ID)
    try:
        assert (box.last_seq, box.acked_seq) == (3, 3)
        assert box.append(*login(4)).seq == 4
        append_many(box, 2)
    finally:
        box.close()
        writer.close()

    writer = Writer(path)  # again, this time with unacknowledged rows left
    box = Outbox(writer, EDGE_ID)
    try:
        assert (box.last_seq, box.acked_seq) == (6, 3)
        assert box.stats().depth == 3
        assert box.append(*login(7)).seq == 7
    finally:
        box.close()
        writer.close()


def test_stats_depth_and_oldest_age(outbox: Outbox, writer: Writer) -> None:
    empty = outbox.stats()
    assert (empty.depth, empty.oldest_unacked_age_s, empty.last_ack_at) == (0, None, None)

    append_many(outbox, 4)
    # pretend the first event was recorded a minute ago, without waiting a minute
    writer.run(
        lambda c: c.execute("UPDATE outbox SET recorded_at = ? WHERE seq = 1", (time.time() - 60,))
    )
    stats = outbox.stats()
    assert (stats.last_seq, stats.acked_seq, stats.depth) == (4, 0, 4)
    assert stats.oldest_unacked_age_s is not None and 59 < stats.oldest_unacked_age_s < 90

    outbox.ack(2).result(10)
    stats = outbox.stats()
    assert (stats.acked_seq, stats.depth) == (2, 2)
    assert stats.oldest_unacked_age_s is not None and stats.oldest_unacked_age_s < 30
    assert stats.last_ack_at is not None and abs(stats.last_ack_at - time.time()) < 30

    outbox.ack(4).result(10)
    drained = outbox.stats()
    assert (drained.depth, drained.oldest_unacked_age_s) == (0, None)


def test_read_after_pages_in_order(outbox: Outbox) -> None:
    append_many(outbox, 10)
    pages, after = [], 0
    while page := outbox.read_after(after, 4):
        pages.append([seq for seq, _ in page])
        after = page[-1][0]
    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    for seq, body in outbox.read_after(0, 100):
        assert validate_envelope(orjson.loads(body)).seq == seq
    outbox.ack(6).result(10)
    assert [seq for seq, _ in outbox.read_after(0, 100)] == [7, 8, 9, 10]
