"""The CP-SAT optimiser on a plant with shifts, identical machines, crews and alternatives."""

from __future__ import annotations

import pytest

from central.scheduling import (
    Calendar,
    Objective,
    Order,
    Schedule,
    SchedulingError,
    WorkCenter,
    optimise,
    schedule,
)
from tests.central.scheduling.support import DAY_SHIFT, at, check, op, plant

CENTERS = (
    WorkCenter("SAW", DAY_SHIFT),
    WorkCenter("CNC", DAY_SHIFT, machines=2, crew=3),
    WorkCenter("WELD", DAY_SHIFT),
)


def orders() -> list[Order]:
    out = []
    for i in range(6):
        routing = (
            op(f"O{i}/10", 60 + 30 * (i % 3), "SAW"),
            op(f"O{i}/20", 180 + 60 * (i % 2), "CNC", after=(f"O{i}/10",), crew=1 + i % 2),
            op(f"O{i}/30", 90, "WELD", "SAW", after=(f"O{i}/10",)),
            op(f"O{i}/40", 45, "WELD", after=(f"O{i}/20", f"O{i}/30")),
        )
        due = at(0, 12) if i % 2 else at(1, 10)  # some cannot make it
        out.append(Order(f"O{i}", routing, due=due, release=at(0, 6 + i)))
    return out


def working_tardiness(result: Schedule) -> int:
    return sum(
        round((b - a).total_seconds() / 60)
        for o in result.orders
        if o.late and o.due
        for a, b in DAY_SHIFT.working_intervals(o.due, o.finish)
    )


@pytest.mark.parametrize("objective", ["makespan", "tardiness"])
def test_the_solver_keeps_every_rule_and_does_no_worse_than_the_heuristic(
    objective: Objective,
) -> None:
    problem = plant(*CENTERS, orders=orders())
    hint = schedule(problem, time_limit=0.2)
    result = optimise(problem, objective=objective, time_limit=3, hint=hint)
    check(problem, result.schedule)
    assert result.status in ("OPTIMAL", "FEASIBLE")
    assert result.bound <= result.value
    assert result.schedule.strategy == "optimised"
    if objective == "makespan":
        assert result.schedule.kpis.makespan_minutes <= hint.kpis.makespan_minutes
    else:
        # the solver counts the working minutes orders are late
        assert result.value == working_tardiness(result.schedule)
        assert 0 < result.value <= working_tardiness(hint)


def test_the_solver_needs_one_calendar() -> None:
    problem = plant(
        WorkCenter("SAW", DAY_SHIFT),
        WorkCenter("CNC", Calendar.always_open()),
        orders=[Order("A", (op("A/10", 60, "SAW"), op("A/20", 60, after=("A/10",))))],
    )
    with pytest.raises(SchedulingError, match="one calendar"):
        optimise(problem, time_limit=1)
