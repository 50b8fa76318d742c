"""An edge store lost and restored from a backup: central still ends with every event once.

Real processes: the backup is taken while the edge runs with events in its outbox;
the edge then records and syncs more, is SIGKILLed, its store deleted and restored.
Before central answers, the restored edge records new events under numbers central
already holds; once central answers its probe, those move above central's sequence.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Plant, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def floorsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floorsync", *args], capture_output=True, text=True, timeout=60
    )


def test_a_restored_edge_resyncs_and_central_has_every_event_once(
    plant: Plant, tmp_path: Path
) -> None:
    config, store, copy = tmp_path / "edge.toml", tmp_path / "edge" / "edge.db", tmp_path / "b.db"
    plant.produce(100)
    plant.wait_drained()
    plant.central.stop()
    plant.produce(100)  # 101..200 wait in the outbox
    backup = floorsync("edge", "backup", "--config", str(config), "--to", str(copy))
    assert backup.returncode == 0, backup.stderr
    assert "events up to seq 200, 100 not yet acknowledged" in backup.stdout

    plant.central.start()
    plant.produce(100)  # 201..300: synced after the backup, so only central has them
    plant.wait_drained()
    refused = floorsync("edge", "restore", "--config", str(config), "--from", str(copy))
    assert refused.returncode == 1 and "stop the edge" in refused.stderr

    plant.edge.kill()
    for path in store.parent.glob("edge.db*"):
        path.unlink()
    restore = floorsync("edge", "restore", "--config", str(config), "--from", str(copy))
    assert restore.returncode == 0, restore.stderr

    plant.central.stop()  # the restored edge records before it can learn central's sequence
    plant.edge.start()
    assert plant.edge_status()["outbox"]["last_seq"] == 200
    ready = httpx.get(f"{plant.edge.url}/ready", timeout=5)
    assert ready.status_code == 200, "the edge takes station input before it resyncs"
    assert ready.json()["checks"]["sequence"].startswith("restored")
    metrics = httpx.get(f"{plant.edge.url}/metrics", timeout=5).text
    assert "floorsync_edge_restore_resync_pending 1.0" in metrics.splitlines()
    plant.produce(40)  # recorded as 201..240, numbers central holds with other events
    assert plant.edge_status()["outbox"]["last_seq"] == 240

    plant.central.start()
    wait_for(
        "the restored edge to resync",
        lambda: plant.edge_status()["outbox"]["last_seq"] == 340,
        60,
    )
    assert httpx.get(f"{plant.central.url}/ready", timeout=5).json()["status"] == "ready"
    plant.wait_drained()
    plant.assert_exactly_once()  # 1..340 at central, every accepted event once
    assert "restored edge store resynced with central" in plant.edge.log.read_text()
