"""``floorsync bench fuzz``: generated bad input against the real parsers, a real edge's
stations and central's real ingest; no crash, and no state change from rejected input.

Each target gets ``--examples`` generated inputs (scans, register blocks, MQTT batches,
see fuzz_inputs.py) and, as the baseline of the same run, a fiftieth as many valid ones;
the table gives both rates and their ratio. A crash is any exception other than the
target's documented refusal, or rejected input that changed state. Input comes from
one seeded random source: ``--seed`` replays a run, and each failure names its index.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from floorsync.bench import fuzz_api
from floorsync.bench.fuzz_api import ApiTally
from floorsync.bench.fuzz_inputs import Mutator
from floorsync.bench.fuzz_targets import (
    ContractTarget,
    IngestTarget,
    ModbusTarget,
    ScanTarget,
    StationTarget,
    Target,
)

TARGETS = ("scan", "station", "modbus", "contract", "ingest")
FAILURES_KEPT = 5


@dataclass
class Tally:
    """What one target made of its examples."""

    target: str
    examples: int = 0
    accepted: int = 0
    rejected: int = 0
    crashes: int = 0
    seconds: float = 0.0
    valid_examples: int = 0
    valid_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0

    @property
    def valid_rate(self) -> float:
        return self.valid_examples / self.valid_seconds if self.valid_seconds else 0.0


def build(name: str, work_dir: Path) -> Target:
    """A fresh target; the stateful ones keep their files under ``work_dir``."""
    if name == "scan":
        return ScanTarget()
    if name == "modbus":
        return ModbusTarget()
    if name == "contract":
        return ContractTarget()
    if name == "station":
        return StationTarget(work_dir)
    if name == "ingest":
        return IngestTarget(work_dir)
    raise ValueError(f"unknown fuzz target {name!r}; known: {', '.join(TARGETS)}")


def run(
    target: Target,
    examples: int,
    seed: int,
    *,
    valid_examples: int = 0,
    progress: Callable[[Tally], None] | None = None,
) -> Tally:
    """Feed ``target`` ``valid_examples`` good inputs (timed), then ``examples`` generated."""
    tally = Tally(target.name)
    good = Mutator(seed + 1_000_003)
    started = time.perf_counter()
    for _ in range(valid_examples):
        target.valid(good)
    tally.valid_examples = valid_examples
    tally.valid_seconds = time.perf_counter() - started

    mutator = Mutator(seed)
    started = last_report = time.perf_counter()
    for index in range(examples):
        try:
            accepted = target.fuzz(mutator)
        except Exception as exc:
            tally.crashes += 1
            if len(tally.failures) < FAILURES_KEPT:
                shown = repr(target.last)
                shown = shown if len(shown) <= 300 else shown[:300] + "..."
                tally.failures.append(
                    f"{target.name} #{index} (seed {seed}): {type(exc).__name__}: {exc}; "
                    f"input {shown}"
                )
            continue
        finally:
            tally.examples += 1
        if accepted:
            tally.accepted += 1
        else:
            tally.rejected += 1
        now = time.perf_counter()
        if progress is not None and now - last_report >= 5.0:
            tally.seconds = now - started
            progress(tally)
            last_report = now
    tally.seconds = time.perf_counter() - started
    return tally


@contextmanager
def _quiet() -> Iterator[None]:
    """Refusals are logged one per input; a hundred thousand of them are noise here."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        root.setLevel(level)


def _scratch(work_dir: Path | None) -> tempfile.TemporaryDirectory[str] | None:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        return None
    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(prefix="floorsync-fuzz-", dir=shm if shm.is_dir() else None)


def table(tallies: list[Tally]) -> str:
    rows = [
        ("target", "examples", "accepted", "rejected", "crashes", "ex/s", "valid ex/s", "ratio")
    ]
    for t in tallies:
        ratio = f"{t.rate / t.valid_rate:.2f}x" if t.valid_rate else ""
        rows.append(
            (
                t.target,
                f"{t.examples:,}",
                f"{t.accepted:,}",
                f"{t.rejected:,}",
                f"{t.crashes:,}",
                f"{t.rate:,.0f}",
                f"{t.valid_rate:,.0f}",
                ratio,
            )
        )
    total = sum(t.examples for t in tallies)
    rows.append(
        (
            "total",
            f"{total:,}",
            f"{sum(t.accepted for t in tallies):,}",
            f"{sum(t.rejected for t in tallies):,}",
            f"{sum(t.crashes for t in tallies):,}",
            f"{total / sum(t.seconds for t in tallies):,.0f}" if tallies else "",
            "",
            "",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if k == 0 or k == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        print(f"floorsync bench fuzz: unknown target(s) {', '.join(unknown)}; known: {TARGETS}")
        return 2
    scratch = _scratch(args.work_dir)
    work_dir = Path(scratch.name) if scratch else args.work_dir
    valid = max(100, args.examples // 50)
    print(
        f"fuzz: {args.examples:,} generated inputs per target ({', '.join(names)}), "
        f"seed {args.seed}, baseline {valid:,} valid inputs each; files in {work_dir}",
        flush=True,
    )
    tallies = []
    started = time.perf_counter()
    try:
        with _quiet():
            for name in names:
                target = build(name, work_dir)
                try:
                    tally = run(
                        target,
                        args.examples,
                        args.seed,
                        valid_examples=valid,
                        progress=lambda t: print(
                            f"  {t.target}: {t.examples:,} / {args.examples:,}, "
                            f"{t.crashes} crashes, {t.rate:,.0f}/s",
                            flush=True,
                        ),
                    )
                finally:
                    target.close()
                print(
                    f"  {name}: done, {tally.examples:,} in {tally.seconds:.1f} s, "
                    f"{tally.crashes} crashes",
                    flush=True,
                )
                tallies.append(tally)
            apis = _apis(args.api_examples, work_dir)
    finally:
        if scratch is not None:
            scratch.cleanup()
    elapsed = time.perf_counter() - started
    print()
    print(table(tallies))
    print(f"\n{elapsed:.1f} s in all; ratio = generated ex/s / valid ex/s (the baseline)")
    if apis:
        print()
        print(api_table(apis))
    failures = [f for t in tallies for f in t.failures]
    failures += [f"{a.target} API {error}" for a in apis for error in a.errors]
    for failure in failures:
        print(f"FAIL {failure}")
    if args.json:
        figures = {
            "seed": args.seed,
            "seconds": elapsed,
            "targets": [asdict(t) for t in tallies],
            "apis": [asdict(a) for a in apis],
        }
        args.json.write_text(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 1 if failures else 0


def _apis(examples: int, work_dir: Path) -> list[ApiTally]:
    """schemathesis over central's and the edge's OpenAPI, if it is installed."""
    if examples <= 0:
        return []
    if importlib.util.find_spec("schemathesis") is None:
        print("  API: skipped, schemathesis is not installed (pip install -e '.[dev]')")
        return []
    return fuzz_api.run_limited(examples, work_dir)


def api_table(apis: list[ApiTally]) -> str:
    rows = [("API", "operations", "requests", "2xx/3xx", "4xx", "5xx operations", "req/s")]
    for a in apis:
        rate = a.calls / a.seconds if a.seconds else 0.0
        rows.append(
            (
                a.target,
                f"{a.operations}",
                f"{a.calls:,}",
                f"{a.ok:,}",
                f"{a.refused:,}",
                f"{len(a.errors)}",
                f"{rate:,.0f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
