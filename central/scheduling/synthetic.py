"""A generated plant and order book, for timing the scheduler at scale (bench and tests)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from random import Random

from central.scheduling.calendars import Calendar, Shift
from central.scheduling.model import Material, Operation, Order, Problem, WorkCenter

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # a Monday morning


def calendars() -> list[Calendar]:
    """One, two and three shifts on weekdays in Berlin, with the spring and May holidays."""
    holidays = frozenset({date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14)})
    patterns = [
        [("06:00", "14:00")],
        [("06:00", "14:00"), ("14:00", "22:00")],
        [("06:00", "14:00"), ("14:00", "22:00"), ("22:00", "06:00")],
    ]
    return [
        Calendar(
            tuple(
                Shift(day, time.fromisoformat(a), time.fromisoformat(b))
                for day in range(5)
                for a, b in pattern
            ),
            holidays,
            "Europe/Berlin",
        )
        for pattern in patterns
    ]


def problem(operations: int = 5000, work_centers: int = 50, seed: int = 0) -> Problem:
    """About ``operations`` operations in orders of 3 to 10, some routings branching and joining.

    A third of the operations may go to an alternative work center, some can take a
    larger crew, and some orders wait for a release date or material.
    """
    rng = Random(seed)
    shapes = calendars()
    centers = tuple(
        WorkCenter(
            f"WC{i + 1:02d}",
            rng.choice(shapes),
            machines=(m := rng.choice((1, 1, 2, 3))),
            crew=rng.choice((None, 2 * m, 3)),  # every operation needs 1 or 2 people
        )
        for i in range(work_centers)
    )
    orders: list[Order] = []
    made = 0
    while made < operations:
        number = len(orders) + 1
        size = min(rng.randint(3, 10), operations - made)
        ops: list[Operation] = []
        for k in range(size):
            home = rng.randrange(work_centers)
            alternatives = [centers[home].code]
            if rng.random() < 0.33:
                alternatives.append(centers[(home + rng.randint(1, 5)) % work_centers].code)
            if k == 0:
                before: tuple[str, ...] = ()
            elif k >= 2 and rng.random() < 0.2:
                before = (ops[k - 1].id, ops[k - 2].id)  # two branches join here
            else:
                before = (ops[max(0, k - 1 - (rng.random() < 0.15))].id,)
            crew = rng.choice((1, 1, 2))
            ops.append(
                Operation(
                    f"WO-{number}/{10 * (k + 1)}",
                    tuple(alternatives),
                    setup_minutes=rng.choice((0, 15, 30, 60)),
                    run_minutes_per_unit=rng.uniform(0.5, 4.0),
                    quantity=rng.randint(10, 80),
                    crew_size=crew,
                    max_crew=crew + 1 if rng.random() < 0.2 else None,
                    predecessors=before,
                )
            )
        release = NOW + timedelta(days=rng.randint(0, 20)) if rng.random() < 0.3 else None
        materials: tuple[Material, ...] = ()
        if rng.random() < 0.2:
            part, days = f"PART-{rng.randint(1, 99)}", rng.randint(1, 30)
            materials = (Material(part, NOW + timedelta(days=days)),)
        orders.append(
            Order(
                f"WO-{number}",
                tuple(ops),
                due=NOW + timedelta(days=rng.randint(5, 60)),
                release=release,
                priority=rng.choice((0, 0, 0, 1, 2)),
                materials=materials,
            )
        )
        made += size
    return Problem(tuple(orders), centers, NOW)
