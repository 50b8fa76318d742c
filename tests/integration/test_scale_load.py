"""``floorsync bench scale``, small: simulated edges into two central workers sharing the ingest.

Real processes: a Mosquitto of the bench's own, two ``floorsync central`` workers on a fresh
PostgreSQL database in one MQTT 5 shared subscription, ``floorsync sim load`` as the edges.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from tests.helpers import PG_ADMIN_URL, unavailable

pytestmark = pytest.mark.services

EDGES, RATE, SECONDS = 5, 50, 5


def test_two_workers_share_the_load_exactly_once_and_in_order(
    tmp_path: Path, mosquitto_binary: str
) -> None:
    admin = sa.create_engine(PG_ADMIN_URL)
    try:
        admin.connect().close()
    except sa.exc.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.orig}")
    finally:
        admin.dispose()
    figures = tmp_path / "scale.json"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "floorsync", "bench", "scale"),
            *("--edges", str(EDGES), "--rate", str(RATE), "--duration", str(SECONDS)),
            *("--workers", "2", "--no-baseline", "--postgres", PG_ADMIN_URL),
            *("--mosquitto", mosquitto_binary, "--work-dir", str(tmp_path / "work")),
            *("--json", str(figures), "--log-level", "warning"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "lag p99" in done.stdout  # the table

    (run,) = orjson.loads(figures.read_bytes())["runs"]
    # every edge's seq 1..last is at central once, in order, and acknowledged
    assert run["drained"] and run["unacknowledged"] == 0
    assert run["recorded"] >= EDGES * RATE * SECONDS * 0.9
    assert run["stored"] == run["recorded"]
    assert (run["lost"], run["duplicates"], run["out_of_order"]) == (0, 0, 0)
    assert run["cursors_behind_acks"] == 0
    assert run["dead_letters"] == 0
    # both workers took a share of the stream
    applied = {name: w["applied"] for name, w in run["per_worker"].items()}
    assert sum(applied.values()) == run["recorded"], applied
    assert all(n > 0 for n in applied.values()), applied
    assert run["lag_p99_s"] < 1.0
