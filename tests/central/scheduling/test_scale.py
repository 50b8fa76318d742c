"""5,000 operations on 50 work centers with shift calendars, in under two seconds."""

from __future__ import annotations

import time

import pytest

from central.scheduling import Direction, schedule, synthetic
from tests.central.scheduling.support import check


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_5000_operations_in_under_two_seconds(direction: Direction) -> None:
    problem = synthetic.problem(operations=5000, work_centers=50)
    assert sum(len(o.operations) for o in problem.orders) == 5000
    started = time.perf_counter()
    result = schedule(problem, direction=direction)
    seconds = time.perf_counter() - started
    # the target is 2 s (floorsync bench schedule --synthetic 5000 measures it on a quiet
    # machine, about 1.1-1.4 s with the 1 s improvement); a busy CI runner gets some slack
    assert seconds < 3.0
    check(problem, result)
    assert len(result.orders) == len(problem.orders)
