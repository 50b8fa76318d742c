"""``floorsync bench schedule`` end to end, small: its JSON (tests/bench holds the others)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

INSTANCES = Path("/work/shared/benchmarks/jobshop")


def bench(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "floorsync", "bench", "schedule", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


@pytest.mark.skipif(not INSTANCES.is_dir(), reason=f"no instances in {INSTANCES}")
def test_an_instance() -> None:
    figures = bench(str(INSTANCES / "ft06.txt"), "--time-limit", "5", "--heuristic-time", "0.2")
    assert (figures["instance"], figures["jobs"], figures["machines"]) == ("ft06", 6, 6)
    assert figures["optimum"] == 55  # from the README's table
    assert figures["heuristic"]["passed"] is True
    assert figures["optimised"]["makespan"] == 55 and figures["optimised"]["at_optimum"]


def test_a_generated_plant() -> None:
    figures = bench("--synthetic", "300", "--work-centers", "10", "--heuristic-time", "0.1")
    assert figures["synthetic"]["operations"] == 300
    assert figures["baseline"]["seconds"] > 0
    assert [r["run"] for r in figures["runs"]][:2] == [
        "forward fastest, no improvement",
        "forward fastest",
    ]


def test_a_file_or_synthetic_is_needed() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "floorsync", "bench", "schedule"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "FILE or --synthetic" in result.stderr
