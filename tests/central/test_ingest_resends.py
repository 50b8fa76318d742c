"""Resends under load: what a worker already applied is a duplicate without validation,
and two workers on one database still apply each edge once and in order; a probe is
answered from the database, whichever worker gets it."""

from __future__ import annotations

from sqlalchemy import Engine

from central.db.schema import dead_letters, events
from central.ingest import Ingestor
from protocols.contract import encode_batch
from tests.central.conftest import (
    EDGE,
    batch,
    cursor,
    envelope,
    events_topic,
    rows,
    stored_seqs,
)

TOPIC = events_topic(EDGE)


def test_a_resend_is_acknowledged_and_changes_nothing_even_with_a_bad_copy(
    sqlite_engine: Engine,
) -> None:
    worker = Ingestor(sqlite_engine)
    first = [envelope(seq) for seq in range(1, 6)]
    worker.handle(TOPIC, batch(*first))

    mangled = {**first[2], "payload": {"not": "a report"}}  # a copy, spoiled on the way
    again = worker.handle(TOPIC, batch(first[0], first[1], mangled, first[3], first[4]))

    assert again.ack is not None and again.ack.acked_seq == 5
    assert (again.applied, again.duplicates, again.dead_lettered) == (0, 5, 0)
    assert stored_seqs(sqlite_engine) == [1, 2, 3, 4, 5]
    assert rows(sqlite_engine, dead_letters) == []


def test_two_workers_share_an_edge_and_a_held_run_is_applied_by_a_resend(
    sqlite_engine: Engine,
) -> None:
    a, b = Ingestor(sqlite_engine), Ingestor(sqlite_engine)
    sent = [envelope(seq) for seq in range(1, 11)]

    a.handle(TOPIC, batch(*sent[:5]))
    held = b.handle(TOPIC, batch(*sent[7:]))  # 8-10 overtook 6-7, which went astray
    assert held.ack is not None and held.ack.acked_seq == 5 and held.held == 3

    a.handle(TOPIC, batch(*sent[5:7]))  # the edge resends 6-7; worker a applies them
    # b gets the edge's next resend (6-10); 6-7 are known to b only through the database
    resent = b.handle(TOPIC, batch(*sent[5:]))
    assert resent.ack is not None and resent.ack.acked_seq == 10
    assert resent.applied == 3  # its held 8-10 follow 7 now

    # everything again, to either worker: duplicates, and the ack of the whole sequence
    for worker in (a, b):
        again = worker.handle(TOPIC, batch(*sent))
        assert again.ack is not None and again.ack.acked_seq == 10
        assert (again.applied, again.duplicates) == (0, 10)
    assert stored_seqs(sqlite_engine) == list(range(1, 11))
    assert cursor(sqlite_engine) == 10


def test_a_probe_is_answered_with_its_id_from_the_database_and_drops_the_hold(
    sqlite_engine: Engine,
) -> None:
    """The worker a restored edge's probe reaches may know less than the database and hold
    events of the run the edge lost; the answer is the cursor, and the new events that the
    edge numbers from it take their places."""
    a, b = Ingestor(sqlite_engine), Ingestor(sqlite_engine)
    lost = [envelope(seq) for seq in range(1, 11)]
    b.handle(TOPIC, batch(*lost[:2]))
    b.handle(TOPIC, batch(*lost[7:]))  # 8-10 held; 6-7 never come: the edge lost them
    a.handle(TOPIC, batch(*lost[2:5]))  # 3-5: b knows them only through the database

    plain = b.handle(TOPIC, batch())  # an empty batch without a probe id: as before
    assert plain.ack is not None and (plain.ack.acked_seq, plain.ack.probe) == (5, None)
    assert plain.held == 3

    answer = b.handle(TOPIC, encode_batch(EDGE, [], probe="p-1"))
    assert answer.ack is not None and (answer.ack.acked_seq, answer.ack.probe) == (5, "p-1")
    assert (answer.held, b.gaps()) == (0, [])

    new = [envelope(seq) for seq in range(6, 11)]
    after = b.handle(TOPIC, batch(*new))
    assert after.ack is not None and (after.ack.acked_seq, after.ack.probe) == (10, None)
    stored = {r["seq"]: r["event_id"] for r in rows(sqlite_engine, events)}
    assert [stored[seq] for seq in range(6, 11)] == [e["event_id"] for e in new]
