"""Generated MQTT messages into central's ingest on a real SQLite file: a message that
applies nothing changes no business table and is recorded only as dead letters (the fuzz
target of ``bench fuzz``, at a CI size)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from central.db.schema import dead_letters, events
from floorsync.bench.fuzz import build, run
from floorsync.bench.fuzz_targets import IngestTarget


def test_generated_batches_change_nothing_unless_applied(tmp_path: Path) -> None:
    target = build("ingest", tmp_path)
    assert isinstance(target, IngestTarget)
    try:
        tally = run(target, 600, seed=5, valid_examples=20)
        with target.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
            dead = conn.execute(select(func.count()).select_from(dead_letters)).scalar_one()
    finally:
        target.close()
    assert tally.failures == [], "\n".join(tally.failures)
    assert tally.crashes == 0
    assert tally.accepted > 100 and tally.rejected > 100
    assert stored >= tally.accepted + 20
    assert dead >= tally.rejected // 2  # most refusals are kept for a person to look at


def test_a_payload_nested_past_orjsons_limit_is_dead_lettered(tmp_path: Path) -> None:
    import json

    from floorsync.bench.fuzz_inputs import Mutator

    target = IngestTarget(tmp_path)
    try:
        envelope = Mutator(1).envelope(IngestTarget.EDGES[0], 1)
        deep: object = "leaf"
        for _ in range(300):
            deep = {"a": deep}
        envelope["payload"]["extra"] = deep
        message = {"v": 1, "edge_id": IngestTarget.EDGES[0], "events": [envelope]}
        raw = json.dumps(message).encode()  # orjson writes no more than 255 levels
        outcome = target.ingestor.handle("floorsync/v1/" + IngestTarget.EDGES[0] + "/events", raw)
    finally:
        target.close()
    assert (outcome.applied, outcome.dead_lettered) == (0, 1)
    assert outcome.ack is not None and outcome.ack.acked_seq == 1  # it held its place
