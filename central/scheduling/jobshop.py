"""Job-shop benchmark instances (the standard text format) as scheduling problems.

The format: an optional ``#`` comment block, a line ``jobs machines``, then one line per
job of ``machine duration`` pairs in routing order, machines numbered from 0. Each job
becomes an order of chained operations on always-open work centers M0, M1, ...; one
time unit is one minute, so the makespan in minutes is the instance's makespan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from central.scheduling.calendars import Calendar
from central.scheduling.errors import SchedulingError
from central.scheduling.model import Operation, Order, Problem, WorkCenter

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)


def parse(text: str) -> list[list[tuple[int, int]]]:
    """The jobs of an instance: per job, (machine, duration) in routing order."""
    lines = [
        line.split()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines or len(lines[0]) != 2:
        raise SchedulingError("a job-shop instance starts with a line 'jobs machines'")
    jobs, machines = int(lines[0][0]), int(lines[0][1])
    if len(lines) - 1 < jobs:
        raise SchedulingError(f"the instance names {jobs} jobs but lists {len(lines) - 1}")
    out = []
    for number, row in enumerate(lines[1 : jobs + 1]):
        values = [int(v) for v in row]
        if len(values) % 2:
            raise SchedulingError(f"job {number}: machine and duration come in pairs")
        pairs = list(zip(values[::2], values[1::2], strict=True))
        if any(not 0 <= m < machines or d < 0 for m, d in pairs):
            raise SchedulingError(f"job {number}: a machine past {machines - 1} or a negative time")
        out.append(pairs)
    return out


def problem(jobs: list[list[tuple[int, int]]], now: datetime = EPOCH) -> Problem:
    """Each job an order of chained operations, each machine an always-open work center."""
    machines = 1 + max((m for job in jobs for m, _ in job), default=-1)
    orders = []
    for j, job in enumerate(jobs):
        ops = []
        for k, (m, d) in enumerate(job):
            before = (f"J{j}/{k - 1}",) if k else ()
            ops.append(Operation(f"J{j}/{k}", (f"M{m}",), setup_minutes=d, predecessors=before))
        orders.append(Order(f"J{j}", tuple(ops)))
    centers = tuple(WorkCenter(f"M{m}", Calendar.always_open()) for m in range(machines))
    return Problem(tuple(orders), centers, now)


def load(path: Path) -> Problem:
    """The instance in this file as a problem."""
    return problem(parse(path.read_text()))
