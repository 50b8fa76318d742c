"""The fast part of the fault matrix (``floorsync bench faults`` runs every row).

These rows are the ones ``test_sync_faults`` does not cover: the broker killed while
the edge drains a backlog, a network cut between edge and broker, a WAL cut back by a
disk that lost confirmed writes, and batches delivered twice and out of order. Each
runs the bench's own row on real Mosquitto, central and edge processes and must lose
and duplicate nothing; a store that fills refuses input and keeps what it took.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from floorsync.bench.faults_rows import BY_NAME, RowResult, Spec, run_row
from floorsync.bench.processes import BenchError, find_mosquitto

pytestmark = [pytest.mark.services, pytest.mark.slow]

SPEC = Spec(events=240, outage_s=3.0, pause_s=0.5, drain_s=2.0)


@pytest.fixture(scope="module")
def mosquitto_binary() -> str:
    try:
        return find_mosquitto("mosquitto")
    except BenchError as exc:
        pytest.skip(str(exc))


def run(name: str, binary: str, tmp_path: Path, *, excused: bool = False) -> RowResult:
    """Run a row; ``excused``: events a simulated disk destroyed do not count as lost."""
    result = run_row(BY_NAME[name], binary, tmp_path, SPEC, print)
    held = result.held
    assert result.produced == SPEC.events, "every station post was accepted"
    assert (held.lost - (result.lost_to_disk if excused else 0), held.duplicated) == (0, 0)
    assert held.in_order, "central applied the events 1..n in sequence order"
    assert held.effects_ok, "the station totals count each event once"
    return result


def test_broker_sigkilled_while_the_edge_drains_a_backlog(
    mosquitto_binary: str, tmp_path: Path
) -> None:
    result = run("broker_kill_drain", mosquitto_binary, tmp_path)
    assert result.behind > 0, "the broker died with part of the backlog still at the edge"


def test_network_cut_between_edge_and_broker(mosquitto_binary: str, tmp_path: Path) -> None:
    result = run("network_cut", mosquitto_binary, tmp_path)
    assert result.behind > 0, "events recorded during the cut waited at the edge"


def test_wal_cut_back_by_a_disk_that_lost_confirmed_writes(
    mosquitto_binary: str, tmp_path: Path
) -> None:
    """The store falls behind central: new events must not reuse numbers central holds."""
    result = run("wal_lost_commits", mosquitto_binary, tmp_path, excused=True)
    assert "outbox events destroyed" in result.note
    assert result.held.lost == result.lost_to_disk, "only what the disk destroyed is gone"
    assert "not closed cleanly" in (tmp_path / "wal_lost_commits" / "edge.log").read_text()


def test_batches_delivered_twice_and_out_of_order(mosquitto_binary: str, tmp_path: Path) -> None:
    result = run("duplicate_reorder", mosquitto_binary, tmp_path)
    assert result.held.rows == SPEC.events


def test_a_full_edge_store_refuses_new_input_and_loses_nothing(
    mosquitto_binary: str, tmp_path: Path
) -> None:
    """Cut off from the broker, the edge's small store fills: the stations are refused with
    507 store_full, everything accepted reaches central once, and input is taken again."""
    result = run_row(BY_NAME["disk_full"], mosquitto_binary, tmp_path, SPEC, print)
    held = result.held
    assert 0 < result.produced < SPEC.events, "the store filled part way through the burst"
    assert (held.lost, held.duplicated, held.in_order) == (0, 0, True)
    assert held.effects_ok, "every refusal was store_full, and input was taken again"
    assert "store_full" in result.note
