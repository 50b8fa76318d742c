"""``floorsync bench schedule``: the scheduler's quality and speed, as JSON on stdout.

On a job-shop instance (``FILE``, the standard format): the makespan of the heuristic
(forward, fastest, its default improvement budget) and of the CP-SAT optimiser started
from it (``--time-limit`` seconds, ``--workers`` threads), each with the time it took,
next to the proven optimum when the README beside the file lists it.

With ``--synthetic N``: a generated plant (``--work-centers`` of them on one-, two- and
three-shift calendars with holidays, N operations in branching routings, alternatives,
crews, release and material dates) timed the ways the engine plans it. The baseline,
measured in the same run, is the same forward list scheduling with every work center
always open and no improvement: the ratios show what calendars and improvement cost.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from central.scheduling import (
    Calendar,
    Direction,
    Problem,
    Schedule,
    SchedulingError,
    Strategy,
    jobshop,
    optimise,
    synthetic,
)
from central.scheduling import schedule as plan

TARGET_GAP = 0.15  # the heuristic's makespan over the optimum
TARGET_SECONDS = 2.0  # 5,000 operations on 50 work centers with calendars


def optimum_of(path: Path) -> int | None:
    """The optimal makespan the README next to the instance lists for it, if it does."""
    readme = path.parent / "README.md"
    if not readme.is_file():
        return None
    header: list[str] = []
    for line in readme.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 2:
            continue
        if not header:
            header = [c.lower() for c in cells]
            continue
        column = next((i for i, name in enumerate(header) if "optim" in name), None)
        if column is not None and cells[0] == path.stem and column < len(cells):
            found = re.search(r"\d+", cells[column])
            return int(found.group()) if found else None
    return None


def _timed(run: Callable[[], Schedule]) -> tuple[Schedule, float]:
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def _gap(value: int, optimum: int | None) -> float | None:
    return round((value - optimum) / optimum, 4) if optimum else None


def instance(args: argparse.Namespace) -> dict[str, Any]:
    path: Path = args.file
    jobs = jobshop.parse(path.read_text())
    problem = jobshop.problem(jobs)
    optimum = optimum_of(path)
    machines = len(problem.work_centers)
    _progress(f"{path.stem}: {len(jobs)} jobs x {machines} machines, optimum {optimum}")
    heuristic, seconds = _timed(
        lambda: plan(problem, time_limit=args.heuristic_time, seed=args.seed)
    )
    makespan = heuristic.kpis.makespan_minutes
    _progress(f"heuristic: {makespan} in {seconds:.2f} s; optimising for {args.time_limit:g} s ...")
    started = time.perf_counter()
    best = optimise(
        problem, time_limit=args.time_limit, workers=args.workers, hint=heuristic, seed=args.seed
    )
    solver_seconds = time.perf_counter() - started
    _progress(
        f"optimised: {best.value} (bound {best.bound}, {best.status}) in {solver_seconds:.1f} s"
    )
    gap = _gap(makespan, optimum)
    return {
        "instance": path.stem,
        "jobs": len(jobs),
        "machines": machines,
        "operations": sum(len(job) for job in jobs),
        "optimum": optimum,
        "heuristic": {
            "makespan": makespan,
            "seconds": round(seconds, 3),
            "gap_to_optimum": gap,
            "target_gap": TARGET_GAP,
            "passed": gap <= TARGET_GAP if gap is not None else None,
        },
        "optimised": {
            "makespan": best.schedule.kpis.makespan_minutes,
            "bound": best.bound,
            "status": best.status,
            "seconds": round(solver_seconds, 3),
            "time_limit": args.time_limit,
            "workers": args.workers,
            "gap_to_optimum": _gap(best.schedule.kpis.makespan_minutes, optimum),
            "gap_to_bound": round((best.value - best.bound) / best.value, 4) if best.value else 0.0,
            "at_optimum": best.schedule.kpis.makespan_minutes == optimum if optimum else None,
        },
    }


def _always_open(problem: Problem) -> Problem:
    centers = tuple(
        dataclasses.replace(wc, calendar=Calendar.always_open()) for wc in problem.work_centers
    )
    return dataclasses.replace(problem, work_centers=centers)


def generated(args: argparse.Namespace) -> dict[str, Any]:
    problem = synthetic.problem(args.synthetic, args.work_centers, seed=args.seed)
    operations = sum(len(o.operations) for o in problem.orders)
    _progress(
        f"{operations} operations, {len(problem.orders)} orders, {args.work_centers} work centers"
    )
    _, baseline = _timed(lambda: plan(_always_open(problem), time_limit=0))
    _progress(f"baseline (always open, no improvement): {baseline:.3f} s")
    budget = args.heuristic_time
    ways: list[tuple[str, Direction, Strategy, float]] = [
        ("forward fastest, no improvement", "forward", "fastest", 0.0),
        ("forward fastest", "forward", "fastest", budget),
        ("forward minimum", "forward", "minimum", budget),
        ("backward fastest", "backward", "fastest", 0.0),
        ("backward minimum", "backward", "minimum", 0.0),
    ]
    runs: list[dict[str, Any]] = []
    for name, direction, strategy, limit in ways:
        result, seconds = _timed(
            partial(
                plan,
                problem,
                direction=direction,
                strategy=strategy,
                time_limit=limit,
                seed=args.seed,
            )
        )
        k = result.kpis
        runs.append(
            {
                "run": name,
                "seconds": round(seconds, 3),
                "ratio_to_baseline": round(seconds / baseline, 2),
                "makespan_minutes": k.makespan_minutes,
                "late_orders": k.late_orders,
                "total_tardiness_minutes": k.total_tardiness_minutes,
                "machines_used": k.machines_used,
                "peak_crew": k.peak_crew,
            }
        )
        _progress(
            f"{name}: {seconds:.3f} s ({seconds / baseline:.1f}x baseline), {k.late_orders} late"
        )
    slowest = max(r["seconds"] for r in runs)
    return {
        "synthetic": {
            "operations": operations,
            "orders": len(problem.orders),
            "work_centers": args.work_centers,
        },
        "baseline": {
            "what": "forward list scheduling, every work center always open, no improvement",
            "seconds": round(baseline, 3),
        },
        "runs": runs,
        "target_seconds": TARGET_SECONDS,
        "passed": slowest < TARGET_SECONDS,
    }


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.synthetic is None):
        print("floorsync bench schedule: give an instance FILE or --synthetic N", file=sys.stderr)
        return 2
    try:
        figures = generated(args) if args.synthetic else instance(args)
    except (OSError, SchedulingError) as exc:
        print(f"floorsync bench schedule: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    from floorsync.bench.options import schedule_arguments

    parser = argparse.ArgumentParser(description=__doc__)
    schedule_arguments(parser)
    sys.exit(main(parser.parse_args()))
