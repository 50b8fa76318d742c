"""``floorsync bench terminal`` at a small size: it times every scan and state change."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.mark.timeout(180)
def test_bench_terminal_times_scans_and_the_dashboard(
    mosquitto_binary: str, chromium_binary: str, tmp_path: Path
) -> None:
    out = tmp_path / "terminal.json"
    cmd = [sys.executable, "-m", "floorsync", "bench", "terminal", "--scans", "9"]
    cmd += ["--wedge-scans", "3", "--states", "2", "--mosquitto", mosquitto_binary]
    done = subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True, timeout=170)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["serial_scan"]["count"] == 9 and figures["wedge_scan"]["count"] == 3
    assert figures["dashboard_state"]["count"] == 2
    for key in ("serial_scan", "wedge_scan", "dashboard_state", "baseline_raw_commit"):
        f = figures[key]
        assert 0 < f["p50_ms"] <= f["p99_ms"] <= f["max_ms"], key
    assert "PASS" in done.stdout or "MISS" in done.stdout
