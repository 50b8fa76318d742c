"""``floorsync bench customers`` at a small size: a real central answers every call it times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(240)
def test_bench_customers_times_every_call_against_a_real_central(tmp_path: Path) -> None:
    out = tmp_path / "customers.json"
    cmd = [sys.executable, "-m", "floorsync", "bench", "customers", "--customers", "200"]
    cmd += ["--orders", "1500", "--events", "2000", "--requests", "5", "--rfm-customers", "500"]
    cmd += ["--work-dir", str(tmp_path), "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=230)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    calls = figures["sqlite"]["calls"]
    assert set(calls) == {
        "health",
        "customer 360",
        "order progress (link)",
        "backward genealogy",
        "backward genealogy, deep lot",
        "forward genealogy (recall)",
    }
    assert all(0 < c["p50_ms"] <= c["p95_ms"] <= c["p99_ms"] for c in calls.values())
    assert figures["rfm"]["customers"] == 500 and figures["rfm"]["first_s"] > 0
    assert "PASS" in done.stdout or "MISS" in done.stdout
