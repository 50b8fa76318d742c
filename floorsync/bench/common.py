"""Helpers shared by the bench and its child processes: payloads, RSS, CPU, JSON lines."""

from __future__ import annotations

import contextlib
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

_emit_lock = threading.Lock()


class Say:
    """Progress lines with the time since the bench started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f}s] {msg}", flush=True)


def interrupt(signum: int, _frame: FrameType | None) -> None:
    """A SIGTERM handler: stop the bench as Ctrl-C does, so its processes are stopped."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def work_dir(keep: Path | None, prefix: str) -> Iterator[Path]:
    """``keep`` (made if missing) for files to look at afterwards, else a temporary one."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def emit(kind: str, **fields: Any) -> None:
    """One JSON line on stdout, for the bench that started this process."""
    line = orjson.dumps({"type": kind, **fields})
    with _emit_lock:
        sys.stdout.buffer.write(line + b"\n")
        sys.stdout.buffer.flush()


def exit_when_parent_goes() -> None:
    """Exit this child as soon as its stdin closes: the bench that started it is gone."""

    def watch() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size of a process (VmRSS), in MiB; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def production_reports(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` production reports like a station terminal posts (simulators/station.py)."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    reports = []
    for i in range(count):
        crew = [f"EMP-{rng.randint(1, 300):04d}" for _ in range(rng.choice((1, 2, 2, 3)))]
        good = [rng.randint(3, 12) for _ in crew]
        scrap = [rng.choice((0, 0, 0, 1)) for _ in crew]
        period_start = start + timedelta(seconds=30 * i)
        period_end = period_start + timedelta(seconds=30)
        hours = 30 / 3600
        reports.append(
            {
                "work_order": f"WO-2026-{rng.randint(100, 160):06d}",
                "operation": rng.choice(("10", "20", "30", "40")),
                "good": sum(good),
                "scrap": sum(scrap),
                "period_start": period_start.isoformat(),
                "period_end": period_end.isoformat(),
                "labour_hours": round(hours * len(crew), 6),
                "crew": [
                    {"operator": op, "good": g, "scrap": s, "labour_hours": round(hours, 6)}
                    for op, g, s in zip(crew, good, scrap, strict=True)
                ],
                "source": "counter",
            }
        )
    return reports


def stations(count: int = 16) -> list[str]:
    return [f"ST-{10 * (i + 1)}" for i in range(count)]


def print_latencies(figures: dict[str, dict[str, Any]], width: int = 30) -> None:
    """The p50 / p95 / p99 table of each database's ``calls``, each p95 with its ratio to
    the same run's baseline (``ratio_to_health_p95``), and the legend."""
    print(f"{'call':<{width}}" + "".join(f"{db + ' p50/p95/p99 ms':>36}" for db in figures))
    first = next(iter(figures.values()))
    for call in first["calls"]:
        cells = []
        for found in figures.values():
            c = found["calls"][call]
            ratio = found["ratio_to_health_p95"].get(call)
            extra = f" ({ratio}x)" if ratio is not None else ""
            cells.append(f"{c['p50_ms']:.1f} / {c['p95_ms']:.1f} / {c['p99_ms']:.1f}{extra}")
        print(f"{call:<{width}}" + "".join(f"{cell:>36}" for cell in cells))
