"""Generated scans at a real edge's station terminals: a refusal records no event and
leaves the station's work as it was (the fuzz target of ``bench fuzz``, at a CI size)."""

from __future__ import annotations

from pathlib import Path

from floorsync.bench.fuzz import build, run
from floorsync.bench.fuzz_targets import StationTarget


def test_generated_scans_at_a_station_record_nothing_when_refused(tmp_path: Path) -> None:
    target = build("station", tmp_path)
    assert isinstance(target, StationTarget)
    try:
        tally = run(target, 1500, seed=3, valid_examples=20)
        recorded = target.node.outbox.last_seq
    finally:
        target.close()
    assert tally.failures == [], "\n".join(tally.failures)
    assert tally.crashes == 0
    assert tally.accepted > 10 and tally.rejected > 1000
    assert recorded > 0  # accepted steps were recorded as events
