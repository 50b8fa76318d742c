"""The fuzz targets of ``bench fuzz`` at a CI size: generated scans, register blocks and
batches give a result or the documented refusal, never anything else."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from floorsync.bench.fuzz import Tally, build, run
from floorsync.bench.fuzz_inputs import SEED_SCANS, Mutator
from floorsync.cli import main as cli

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "barcodes" / "samples.json"


def bench(args: list[str]) -> int:
    """`floorsync bench` in this process. It points the root logger at the stderr it finds,
    this test's capture, closed afterwards: put the logger back, or a later test's thread
    logs into a closed file."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return cli(args)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def fuzzed(name: str, tmp_path: Path, examples: int, seed: int = 1) -> Tally:
    target = build(name, tmp_path)
    try:
        tally = run(target, examples, seed, valid_examples=20)
    finally:
        target.close()
    assert tally.failures == [], "\n".join(tally.failures)
    assert tally.crashes == 0
    assert tally.examples == examples == tally.accepted + tally.rejected
    return tally


@pytest.mark.parametrize(
    ("name", "examples"), [("scan", 2000), ("modbus", 3000), ("contract", 800)]
)
def test_generated_input_is_accepted_or_refused_never_a_crash(
    name: str, examples: int, tmp_path: Path
) -> None:
    tally = fuzzed(name, tmp_path, examples)
    # the mutator makes input both ways, so both paths are exercised
    assert tally.accepted > examples // 50 and tally.rejected > examples // 2


def test_the_real_scanner_samples_are_the_mutators_seeds() -> None:
    samples = [s["input"] for s in json.loads(SAMPLES.read_text(encoding="utf-8"))]
    assert set(samples) <= set(SEED_SCANS)


def test_a_seed_replays_the_same_input() -> None:
    first, again, other = Mutator(7), Mutator(7), Mutator(8)
    made = [first.scan() for _ in range(50)]
    assert made == [again.scan() for _ in range(50)]
    assert made != [other.scan() for _ in range(50)]


def test_bench_fuzz_prints_the_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "fuzz.json"
    args = ["bench", "fuzz", "--examples", "200", "--targets", "scan,modbus", "--api-examples", "0"]
    args += ["--json", str(out)]
    assert bench(args) == 0
    printed = capsys.readouterr().out
    assert "target" in printed and "crashes" in printed and "valid ex/s" in printed
    figures = json.loads(out.read_text())
    assert [t["target"] for t in figures["targets"]] == ["scan", "modbus"]
    assert all(t["examples"] == 200 and t["crashes"] == 0 for t in figures["targets"])


def test_bench_fuzz_refuses_an_unknown_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench(["bench", "fuzz", "--examples", "10", "--targets", "scan,printer"]) == 2
    assert "printer" in capsys.readouterr().out
