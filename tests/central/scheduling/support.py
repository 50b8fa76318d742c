"""Scheduling test support: a day-shift calendar, small plants, and a schedule checker.

The checker recomputes every rule from the problem with the public calendar API only,
so it shares no code with the engine's working-time axis.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from central.scheduling import (
    Calendar,
    Operation,
    Order,
    OrderOutcome,
    Problem,
    Schedule,
    Shift,
    WorkCenter,
)

MON = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday, 06:00
HOLIDAY = date(2026, 3, 4)  # that Wednesday
DAY_SHIFT = Calendar(
    tuple(Shift(day, time(6), time(14)) for day in range(5)), frozenset({HOLIDAY}), "UTC"
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` days after Monday 2026-03-02, at hour:minute UTC."""
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC) + timedelta(days=day)


def op(
    id: str,
    minutes: float,
    *centers: str,
    after: tuple[str, ...] = (),
    crew: int = 1,
    max_crew: int | None = None,
) -> Operation:
    """An operation of ``minutes`` run time (one unit) at the given work centers."""
    return Operation(
        id,
        centers or ("CNC",),
        run_minutes_per_unit=minutes,
        crew_size=crew,
        max_crew=max_crew,
        predecessors=after,
    )


def plant(*centers: WorkCenter, orders: list[Order], now: datetime = MON) -> Problem:
    return Problem(tuple(orders), centers or (WorkCenter("CNC", DAY_SHIFT),), now)


def starts(result: Schedule) -> dict[str, tuple[datetime, datetime]]:
    return {s.operation: (s.start, s.end) for s in result.operations}


def outcome(result: Schedule, order: str) -> OrderOutcome:
    return next(o for o in result.orders if o.order == order)


def check(problem: Problem, result: Schedule) -> None:
    """Every rule a schedule must keep, recomputed from the problem."""
    centers = {wc.code: wc for wc in problem.work_centers}
    placed = {s.operation: s for s in result.operations}
    ops = {o.id: (order, o) for order in problem.orders for o in order.operations}
    assert set(placed) == set(ops)
    people: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    machines: dict[tuple[str, int], list[tuple[datetime, datetime]]] = defaultdict(list)
    for op_id, s in placed.items():
        order, operation = ops[op_id]
        wc = centers[s.work_center]
        assert s.work_center in operation.work_centers
        assert 0 <= s.machine < wc.machines
        assert operation.crew_size <= s.crew <= max(operation.crew_size, operation.max_crew or 0)
        earliest = max(
            [problem.now]
            + ([order.release] if order.release else [])
            + [m.available for m in order.materials]
        )
        assert s.start >= earliest.replace(second=0, microsecond=0), op_id
        for before in operation.predecessors:
            assert placed[before].end <= s.start, (before, op_id)
        run = operation.run_minutes_per_unit * operation.quantity * operation.crew_size / s.crew
        minutes = math.ceil(operation.setup_minutes + run - 1e-9)
        if minutes == 0:
            continue
        worked = sum(
            (b - a).total_seconds() / 60 for a, b in wc.calendar.working_intervals(s.start, s.end)
        )
        assert worked == minutes, (op_id, worked, minutes)
        first = wc.calendar.working_intervals(s.start, s.start + timedelta(minutes=1))
        assert first and first[0][0] == s.start, f"{op_id} starts outside working time"
        machines[s.work_center, s.machine].append((s.start, s.end))
        people[s.work_center] += [(s.start, s.crew), (s.end, -s.crew)]
    for key, spans in machines.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, f"machine {key} runs two operations at once"
    for code, steps in people.items():
        cap = centers[code].crew
        if cap is None:
            continue
        now = 0
        for _, change in sorted(steps):
            now += change
            assert now <= cap, f"crew at {code} over {cap}"
