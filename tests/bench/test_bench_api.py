"""``floorsync bench api`` at a small size: a real central answers every call it times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(180)
def test_bench_api_times_every_call_against_a_real_central(tmp_path: Path) -> None:
    out = tmp_path / "api.json"
    cmd = [sys.executable, "-m", "floorsync", "bench", "api", "--orders", "600"]
    cmd += ["--events", "2000", "--requests", "5", "--work-dir", str(tmp_path), "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=170)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-3000:]
    calls = json.loads(out.read_text())["sqlite"]["calls"]
    assert set(calls) == {
        "health",
        "order list, first page",
        "order list, by status",
        "order list, deep page",
        "orders of a customer",
        "order detail",
    }
    assert all(0 < c["p50_ms"] <= c["p95_ms"] <= c["p99_ms"] for c in calls.values())
    assert "PASS" in done.stdout or "MISS" in done.stdout
