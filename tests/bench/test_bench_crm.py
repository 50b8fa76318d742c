"""``floorsync bench crm`` at a small size: a real central answers every call it times, a
file with bad rows is refused, and the import is followed to its end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(120)
def test_bench_crm_times_the_pipeline_timeline_and_an_import(tmp_path: Path) -> None:
    out = tmp_path / "crm.json"
    cmd = [sys.executable, "-m", "floorsync", "bench", "crm", "--accounts", "200"]
    cmd += ["--opportunities", "1000", "--timeline", "20000", "--import-rows", "3000"]
    cmd += ["--requests", "5", "--work-dir", str(tmp_path), "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-3000:]
    figures = json.loads(out.read_text())["sqlite"]
    calls = figures["calls"]
    assert set(calls) == {
        "health",
        "pipeline board",
        "forecast by month",
        "forecast by owner",
        "timeline, first page",
        "timeline, second page",
    }
    assert all(0 < c["p50_ms"] <= c["p95_ms"] <= c["p99_ms"] for c in calls.values())
    sizes = figures["sizes"]
    assert (sizes["accounts"], sizes["opportunities"], sizes["timeline"]) == (200, 1000, 20000)
    assert all(sizes[source] > 0 for source in ("orders", "payments", "quotes", "repairs"))
    bad = figures["bad_file"]
    assert (bad["run_status"], bad["refusal"], bad["job_status"]) == (409, "bad_rows", "refused")
    assert bad["rows_listed"] == bad["bad_rows"] and bad["imported"] == 0
    assert figures["import"]["status"] == "done" and figures["import"]["imported"] == 3000
    assert "PASS" in done.stdout or "MISS" in done.stdout
