"""The job-shop benchmark instances: reading them, the heuristic's gap, the solver's optimum."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.scheduling import SchedulingError, jobshop, optimise, schedule
from tests.central.scheduling.support import check

INSTANCES = Path("/work/shared/benchmarks/jobshop")
OPTIMUM = {"ft06": 55, "ft10": 930, "la01": 666}

needs_instances = pytest.mark.skipif(
    not INSTANCES.is_dir(), reason=f"the benchmark instances are not in {INSTANCES}"
)


def test_reading_an_instance() -> None:
    text = "# a comment\n# another\n2 3\n0 5 1 3 2 2\n 2 4 0 1 1 7\n"
    assert jobshop.parse(text) == [[(0, 5), (1, 3), (2, 2)], [(2, 4), (0, 1), (1, 7)]]
    problem = jobshop.problem(jobshop.parse(text))
    assert [wc.code for wc in problem.work_centers] == ["M0", "M1", "M2"]
    assert problem.orders[1].operations[2].predecessors == ("J1/1",)
    result = schedule(problem)
    check(problem, result)
    assert result.kpis.makespan_minutes == 15  # J1 waits for M0 until 5, then M1 until 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "jobs machines"),
        ("2 2\n0 5 1 3\n", "lists 1"),
        ("1 2\n0 5 1\n", "pairs"),
        ("1 2\n0 5 2 3\n", "machine past 1"),
    ],
)
def test_malformed_instances_are_refused(text: str, message: str) -> None:
    with pytest.raises(SchedulingError, match=message):
        jobshop.parse(text)


@needs_instances
@pytest.mark.parametrize("name", sorted(OPTIMUM))
def test_the_heuristic_is_within_15_percent_of_the_optimum(name: str) -> None:
    problem = jobshop.load(INSTANCES / f"{name}.txt")
    result = schedule(problem)
    check(problem, result)
    assert OPTIMUM[name] <= result.kpis.makespan_minutes <= 1.15 * OPTIMUM[name]


@needs_instances
def test_a_step_limit_gives_the_same_schedule_every_time() -> None:
    problem = jobshop.load(INSTANCES / "ft10.txt")
    first = schedule(problem, time_limit=60, max_steps=100, seed=3)
    assert schedule(problem, time_limit=60, max_steps=100, seed=3) == first


@needs_instances
def test_the_solver_proves_ft06_optimal() -> None:
    problem = jobshop.load(INSTANCES / "ft06.txt")
    result = optimise(problem, time_limit=5)
    check(problem, result.schedule)
    assert (result.status, result.value, result.bound) == ("OPTIMAL", 55, 55)
    assert result.schedule.kpis.makespan_minutes == 55


@needs_instances
@pytest.mark.parametrize("name", ["la01", "ft10"])
def test_a_short_solver_run_is_feasible_and_never_worse_than_its_hint(name: str) -> None:
    problem = jobshop.load(INSTANCES / f"{name}.txt")
    hint = schedule(problem, time_limit=0.2)
    result = optimise(problem, time_limit=2, hint=hint)
    check(problem, result.schedule)
    assert result.status in ("OPTIMAL", "FEASIBLE")
    assert result.bound <= result.value == result.schedule.kpis.makespan_minutes
    assert result.value <= hint.kpis.makespan_minutes
