"""``floorsync bench sync`` at small sizes: it measures every figure and loses nothing.

The figures themselves are not checked (they depend on the machine); the exact
counts at central are.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.services, pytest.mark.slow]

FIGURES = {
    "transport_qos1_rate",
    "storage_full_commit_rate",
    "durable_rate",
    "durable_vs_transport",
    "durable_vs_storage",
    "latency_p50_ms",
    "latency_p99_ms",
    "drain_rate",
    "rss_peak_mib",
    "rss_drain_growth_mib",
    "lost",
    "duplicates",
}


@pytest.mark.timeout(120)
def test_bench_sync_quick_measures_everything_and_loses_nothing(
    mosquitto_binary: str, tmp_path: Path
) -> None:
    report = tmp_path / "bench.json"
    bench = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "floorsync",
            "bench",
            "sync",
            "--quick",
            "--events",
            "2000",
            "--backlog",
            "5000",
            "--latency-seconds",
            "2",
            "--mosquitto",
            mosquitto_binary,
            "--work-dir",
            str(tmp_path / "work"),
            "--json",
            str(report),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = bench.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        bench.send_signal(signal.SIGTERM)  # the bench stops its broker, central and workers
        output, _ = bench.communicate(timeout=30)
        pytest.fail(f"bench sync --quick took more than 90 s:\n{output[-4000:]}")
    assert bench.returncode == 0, output[-4000:]

    data = json.loads(report.read_text())
    assert set(data["figures"]) >= FIGURES
    for name in FIGURES:
        value = data["figures"][name]["value"]
        assert isinstance(value, int | float) and math.isfinite(value), (name, value)
    assert data["transport"]["messages"] == 2000
    assert data["durable"]["events"] == 2000
    assert data["backlog"]["backlog"] == 5000
    assert data["lost"] == 0
    assert data["duplicates"] == 0
    edges = data["verification"]["edges"]
    assert set(edges) == {"durable", "latency", "backlog"}
    assert edges["durable"]["stored"] == 2000
    assert edges["backlog"]["stored"] == edges["backlog"]["last_seq"] > 5000
    assert "FloorSync durable end to end" in output
    assert "lost=0 dup=0" in output
