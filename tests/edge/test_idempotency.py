"""Idempotency keys in the outbox: kept with their event through a crash, a resync and
the window; the HTTP side is in test_api."""

from __future__ import annotations

from pathlib import Path

from edge.idempotency import WINDOW_S, Keyed, KeyReused
from edge.outbox import Outbox, Recorded
from edge.store import StoreBudget, StoreFull, Writer
from tests.edge.support import EDGE_ID, login
from tests.edge.test_store import hold
from tests.edge.test_store_full import BUDGET_MB, fill


def keyed(key: str, n: int) -> Keyed:
    made = Keyed.of(key, "/api/v1/events", {"n": n})
    assert made is not None
    return made


def record(outbox: Outbox, key: str, n: int) -> Recorded:
    return outbox.submit(*login(n), key=keyed(key, n)).result(10)


def test_a_key_survives_an_unclean_close_and_is_pruned_after_the_window(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "edge.db")
    outbox = Outbox(writer, EDGE_ID)
    first = record(outbox, "a", 1)
    record(outbox, "old", 2)
    writer.run(
        lambda conn: conn.execute(
            "UPDATE idempotency_keys SET created_at = created_at - ? WHERE key = 'old'",
            (WINDOW_S + 60,),
        )
    )
    writer.close()  # no outbox.close(): the edge died, no marker says it closed cleanly

    writer = Writer(tmp_path / "edge.db")
    outbox = Outbox(writer, EDGE_ID)
    try:
        assert outbox.restored_seq == 2, "opened as after a crash"
        assert record(outbox, "a", 1) == Recorded(first.seq, first.event_id, replayed=True)
        assert outbox.last_seq == 2
        # the first key stored since the start prunes those past the window: "old" is free
        assert record(outbox, "b", 3).seq == 3
        retried = record(outbox, "old", 2)
        assert (retried.seq, retried.replayed) == (4, False)
    finally:
        outbox.close()
        writer.close()


def test_keys_follow_their_events_when_a_resync_renumbers_them(tmp_path: Path) -> None:
    """After a crash central turns out ahead (the disk lost commits): events recorded
    since move above central's seq, and a retry is answered with the new number."""
    writer = Writer(tmp_path / "edge.db")
    outbox = Outbox(writer, EDGE_ID)
    outbox.append(*login(1))
    writer.close()  # no outbox.close()

    writer = Writer(tmp_path / "edge.db")
    outbox = Outbox(writer, EDGE_ID)
    try:
        recorded = record(outbox, "b", 2)
        assert recorded.seq == 2
        assert outbox.resync(central_seq=5).result(10) == 1
        again = record(outbox, "b", 2)
        assert (again.seq, again.event_id) == (6, recorded.event_id)
        assert [seq for seq, _ in outbox.read_after(0, 10)] == [6]
    finally:
        outbox.close()
        writer.close()


def test_one_key_twice_in_one_group_commit_records_once(outbox: Outbox, writer: Writer) -> None:
    release = hold(writer)
    futures = [outbox.submit(*login(1), key=keyed("k", 1)) for _ in range(2)]
    other = outbox.submit(*login(1), key=keyed("k", 9))
    release.set()
    first, second = (f.result(10) for f in futures)
    assert (second.seq, second.event_id, second.replayed) == (first.seq, first.event_id, True)
    assert isinstance(other.exception(10), KeyReused)
    assert outbox.last_seq == 1


def test_a_retry_is_answered_while_the_store_is_full(tmp_path: Path) -> None:
    """New events are refused; one committed before the store filled is answered, even
    in the same group commit: told "nothing was recorded", a worker would book it twice."""
    writer = Writer(tmp_path / "edge.db", budget=StoreBudget(max_mb=BUDGET_MB))
    outbox = Outbox(writer, EDGE_ID)
    try:
        first = record(outbox, "a", 1)
        fill(outbox, "full")
        release = hold(writer)
        retry, new = (outbox.submit(*login(n), key=keyed(k, n)) for k, n in (("a", 1), ("b", 2)))
        release.set()
        assert retry.result(10) == Recorded(first.seq, first.event_id, replayed=True)
        assert isinstance(new.exception(10), StoreFull)
    finally:
        outbox.close()
        writer.close()
