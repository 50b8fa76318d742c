"""Forward scheduling on hand-checked cases: a day shift 06:00-14:00 Mon-Fri, Wednesday off.

Monday 2026-03-02 06:00 UTC is now. ``at(day, hour)`` counts days from that Monday.
"""

from __future__ import annotations

import pytest

from central.scheduling import Material, Order, SchedulingError, WorkCenter, schedule
from tests.central.scheduling.support import DAY_SHIFT, at, check, op, outcome, plant, starts


def test_an_operation_pauses_overnight_and_resumes_next_shift() -> None:
    problem = plant(orders=[Order("A", (op("A/10", 600),))])
    result = schedule(problem)
    check(problem, result)
    assert starts(result) == {"A/10": (at(0, 6), at(1, 8))}


def test_a_holiday_is_skipped() -> None:
    problem = plant(orders=[Order("A", (op("A/10", 480), op("A/20", 600, after=("A/10",))))])
    result = schedule(problem)
    check(problem, result)
    # Monday the first, Tuesday and (Wednesday off) Thursday morning the second
    assert starts(result)["A/20"] == (at(1, 6), at(3, 8))


def test_a_zero_length_operation_takes_no_machine_time() -> None:
    routing = (op("A/10", 60), op("A/20", 0, after=("A/10",)), op("A/30", 60, after=("A/20",)))
    problem = plant(orders=[Order("A", routing)])
    result = schedule(problem)
    check(problem, result)
    assert starts(result) == {
        "A/10": (at(0, 6), at(0, 7)),
        "A/20": (at(0, 7), at(0, 7)),
        "A/30": (at(0, 7), at(0, 8)),
    }


def test_two_identical_machines_take_two_operations_at_once() -> None:
    orders = [Order(x, (op(f"{x}/10", 240),)) for x in "ABC"]
    two = plant(WorkCenter("CNC", DAY_SHIFT, machines=2), orders=orders)
    one = plant(WorkCenter("CNC", DAY_SHIFT, machines=1), orders=orders)
    result = schedule(two)
    check(two, result)
    assert sorted(s.start for s in result.operations) == [at(0, 6), at(0, 6), at(0, 10)]
    assert {s.machine for s in result.operations} == {0, 1}
    result = schedule(one)
    check(one, result)
    # the third does not fit before 14:00 and waits for Tuesday
    assert sorted(s.start for s in result.operations) == [at(0, 6), at(0, 10), at(1, 6)]
    assert result.kpis.machines_used == 1


def test_the_crew_limits_what_runs_at_once() -> None:
    orders = [Order(x, (op(f"{x}/10", 240, crew=2),)) for x in "AB"]
    problem = plant(WorkCenter("CNC", DAY_SHIFT, machines=2, crew=3), orders=orders)
    result = schedule(problem)
    check(problem, result)
    # two machines, but three people: one two-person operation at a time
    assert sorted(s.start for s in result.operations) == [at(0, 6), at(0, 10)]
    assert result.kpis.peak_crew == 2


def test_an_operation_no_work_center_can_staff_is_refused() -> None:
    problem = plant(
        WorkCenter("CNC", DAY_SHIFT, crew=1), orders=[Order("A", (op("A", 60, crew=2),))]
    )
    with pytest.raises(SchedulingError, match="crew of 2"):
        schedule(problem)


def test_fastest_puts_more_people_on_it_minimum_the_fewest() -> None:
    orders = [Order("A", (op("A/10", 240, max_crew=2),))]
    problem = plant(WorkCenter("CNC", DAY_SHIFT, crew=2), orders=orders)
    fastest = schedule(problem)
    minimum = schedule(problem, strategy="minimum")
    check(problem, fastest)
    check(problem, minimum)
    assert (fastest.operations[0].crew, fastest.operations[0].end) == (2, at(0, 8))
    assert (minimum.operations[0].crew, minimum.operations[0].end) == (1, at(0, 10))


def test_parallel_branches_join() -> None:
    routing = (
        op("A/10", 60, "SAW"),
        op("A/20", 120, "CNC", after=("A/10",)),
        op("A/30", 180, "WELD", after=("A/10",)),
        op("A/40", 60, "SAW", after=("A/20", "A/30")),
    )
    problem = plant(
        *(WorkCenter(code, DAY_SHIFT) for code in ("SAW", "CNC", "WELD")),
        orders=[Order("A", routing)],
    )
    result = schedule(problem)
    check(problem, result)
    assert starts(result) == {
        "A/10": (at(0, 6), at(0, 7)),
        "A/20": (at(0, 7), at(0, 9)),
        "A/30": (at(0, 7), at(0, 10)),
        "A/40": (at(0, 10), at(0, 11)),
    }
    assert outcome(result, "A").finish == at(0, 11)


def test_alternatives_fastest_spreads_minimum_keeps_to_the_preferred() -> None:
    centers = (WorkCenter("CNC1", DAY_SHIFT), WorkCenter("CNC2", DAY_SHIFT))
    orders = [Order(x, (op(f"{x}/10", 240, "CNC1", "CNC2"),), due=at(1, 14)) for x in "AB"]
    problem = plant(*centers, orders=orders)
    fastest = schedule(problem)
    check(problem, fastest)
    assert {s.work_center for s in fastest.operations} == {"CNC1", "CNC2"}
    assert outcome(fastest, "B").finish == at(0, 10)
    minimum = schedule(problem, strategy="minimum")
    check(problem, minimum)
    assert {s.work_center for s in minimum.operations} == {"CNC1"}
    assert minimum.kpis.work_centers_used == 1 and minimum.kpis.late_orders == 0
    # due at 12:00, the second cannot wait for CNC1 and goes to CNC2 after all
    tight = plant(
        *centers,
        orders=[Order(x, o.operations, due=at(0, 12)) for x, o in zip("AB", orders, strict=True)],
    )
    minimum = schedule(tight, strategy="minimum")
    assert {s.work_center for s in minimum.operations} == {"CNC1", "CNC2"}
    assert minimum.kpis.late_orders == 0


def test_priority_goes_before_due_date_and_due_date_before_the_rest() -> None:
    orders = [
        Order("LATER", (op("L", 240),), due=at(4, 14)),
        Order("SOON", (op("S", 240),), due=at(1, 14)),
        Order("RUSH", (op("R", 240),), due=at(5, 14), priority=1),
    ]
    problem = plant(orders=orders)
    result = schedule(problem)
    check(problem, result)
    assert [s.operation for s in sorted(result.operations, key=lambda s: s.start)] == [
        "R",
        "S",
        "L",
    ]


def test_material_availability_makes_an_order_late_and_is_named() -> None:
    body = Material("BODY-50", at(3, 10))
    orders = [Order("A", (op("A/10", 240),), due=at(3, 12), materials=(body,))]
    problem = plant(orders=orders)
    result = schedule(problem)
    check(problem, result)
    a = outcome(result, "A")
    assert (a.start, a.finish) == (at(3, 10), at(3, 14))
    assert a.late and a.lateness_minutes == 120
    assert a.reason == "material BODY-50 available 2026-03-05"


def test_a_release_date_holds_an_order_back() -> None:
    orders = [Order("A", (op("A/10", 240),), due=at(1, 8), release=at(1, 6))]
    result = schedule(plant(orders=orders))
    a = outcome(result, "A")
    assert a.finish == at(1, 10) and a.reason == "release date 2026-03-03"


def test_a_busy_work_center_makes_an_order_late_and_is_named() -> None:
    orders = [
        Order("RUSH", (op("R", 960),), due=at(1, 14), priority=1),
        Order("A", (op("A/10", 60, "SAW"), op("A/20", 60, after=("A/10",))), due=at(0, 14)),
    ]
    problem = plant(WorkCenter("CNC", DAY_SHIFT), WorkCenter("SAW", DAY_SHIFT), orders=orders)
    result = schedule(problem)
    check(problem, result)
    a = outcome(result, "A")
    assert a.late and a.finish == at(3, 7)  # Wednesday is off
    assert a.reason == "work center CNC busy"
    assert not outcome(result, "RUSH").late


def test_a_holiday_makes_an_order_late_and_is_named() -> None:
    problem = plant(orders=[Order("A", (op("A/10", 60),), due=at(2, 23))], now=at(2, 8))
    a = outcome(schedule(problem), "A")
    assert a.late and a.finish == at(3, 7)
    assert a.reason == "calendar: holiday 2026-03-04 at CNC"


def test_too_little_time_is_a_lead_time_problem() -> None:
    a = outcome(schedule(plant(orders=[Order("A", (op("A/10", 600),), due=at(0, 14))])), "A")
    assert a.late and a.lateness_minutes == 18 * 60
    assert a.reason is not None and a.reason.startswith("lead time")


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([Order("A", (op("A/10", 60, "LATHE"),))], "no work center LATHE"),
        ([Order("A", (op("A/10", 60, after=("A/20",)), op("A/20", 60, after=("A/10",))))], "cycle"),
        (
            [Order("A", (op("A/10", 60),)), Order("B", (op("B/10", 60, after=("A/10",)),))],
            "not in B",
        ),
        ([Order("A", (op("X", 60),)), Order("B", (op("X", 60),))], "given twice"),
    ],
)
def test_malformed_problems_are_refused(orders: list[Order], message: str) -> None:
    with pytest.raises(SchedulingError, match=message):
        schedule(plant(orders=orders))


def test_a_pinned_operation_starts_no_earlier_and_its_successors_follow() -> None:
    from dataclasses import replace

    first = replace(op("A/10", 60), not_before=at(1, 9))  # a planner dragged it to Tuesday 9:00
    orders = [Order("A", (first, op("A/20", 60, after=("A/10",)))), Order("B", (op("B/10", 60),))]
    problem = plant(orders=orders)
    result = schedule(problem, time_limit=0)
    check(problem, result)
    placed = starts(result)
    assert placed["A/10"] == (at(1, 9), at(1, 10))
    assert placed["A/20"][0] >= at(1, 10)
    assert placed["B/10"] == (at(0, 6), at(0, 7))  # the rest is not held back
