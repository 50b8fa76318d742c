"""Backward (just in time) scheduling, and its fall back to forward for orders it cannot fit.

Same calendar as the forward cases: 06:00-14:00 Mon-Fri, Wednesday 2026-03-04 off.
"""

from __future__ import annotations

from central.scheduling import Material, Order, WorkCenter, schedule
from tests.central.scheduling.support import DAY_SHIFT, at, check, op, outcome, plant, starts


def test_an_order_ends_exactly_at_its_due_date() -> None:
    problem = plant(orders=[Order("A", (op("A/10", 240),), due=at(3, 14))])
    result = schedule(problem, direction="backward")
    check(problem, result)
    assert starts(result) == {"A/10": (at(3, 10), at(3, 14))}
    a = outcome(result, "A")
    assert a.direction == "backward" and not a.late


def test_backward_over_the_holiday() -> None:
    routing = (op("A/10", 240), op("A/20", 240, after=("A/10",)))
    problem = plant(orders=[Order("A", routing, due=at(3, 10))])
    result = schedule(problem, direction="backward")
    check(problem, result)
    # the second runs Thursday 06:00-10:00; Wednesday is off, so the first ends Tuesday
    assert starts(result) == {"A/10": (at(1, 10), at(1, 14)), "A/20": (at(3, 6), at(3, 10))}


def test_the_higher_priority_gets_the_slot_nearest_its_due_date() -> None:
    orders = [
        Order("A", (op("A/10", 240),), due=at(3, 14)),
        Order("B", (op("B/10", 240),), due=at(3, 14), priority=1),
    ]
    problem = plant(orders=orders)
    result = schedule(problem, direction="backward")
    check(problem, result)
    assert starts(result) == {"B/10": (at(3, 10), at(3, 14)), "A/10": (at(3, 6), at(3, 10))}


def test_backward_on_parallel_machines_and_a_crew() -> None:
    orders = [Order(x, (op(f"{x}/10", 240, crew=1),), due=at(3, 14)) for x in "ABC"]
    two = plant(WorkCenter("CNC", DAY_SHIFT, machines=2), orders=orders)
    result = schedule(two, direction="backward")
    check(two, result)
    assert sorted(s.start for s in result.operations) == [at(3, 6), at(3, 10), at(3, 10)]
    one_person = plant(WorkCenter("CNC", DAY_SHIFT, machines=2, crew=1), orders=orders)
    result = schedule(one_person, direction="backward")
    check(one_person, result)
    assert sorted(s.start for s in result.operations) == [at(1, 10), at(3, 6), at(3, 10)]


def test_minimum_keeps_to_the_preferred_work_center_backward_too() -> None:
    centers = (WorkCenter("CNC1", DAY_SHIFT), WorkCenter("CNC2", DAY_SHIFT))
    orders = [Order(x, (op(f"{x}/10", 240, "CNC1", "CNC2"),), due=at(3, 14)) for x in "AB"]
    problem = plant(*centers, orders=orders)
    minimum = schedule(problem, direction="backward", strategy="minimum")
    check(problem, minimum)
    assert {s.work_center for s in minimum.operations} == {"CNC1"}
    fastest = schedule(problem, direction="backward")
    check(problem, fastest)
    assert {(s.work_center, s.start) for s in fastest.operations} == {
        ("CNC1", at(3, 10)),
        ("CNC2", at(3, 10)),
    }


def test_an_order_that_would_start_in_the_past_is_planned_forward_and_late() -> None:
    problem = plant(orders=[Order("A", (op("A/10", 480),), due=at(0, 10))])
    result = schedule(problem, direction="backward")
    check(problem, result)
    a = outcome(result, "A")
    assert (a.direction, a.start, a.finish) == ("forward", at(0, 6), at(0, 14))
    assert a.late and a.lateness_minutes == 240
    assert a.reason is not None and a.reason.startswith("lead time")


def test_material_too_late_for_backward_is_the_reason() -> None:
    body = Material("BODY-50", at(1, 6))
    problem = plant(orders=[Order("A", (op("A/10", 480),), due=at(1, 10), materials=(body,))])
    result = schedule(problem, direction="backward")
    a = outcome(result, "A")
    assert (a.direction, a.start, a.finish) == ("forward", at(1, 6), at(1, 14))
    assert a.reason == "material BODY-50 available 2026-03-03"


def test_a_busy_work_center_pushes_an_order_forward_and_is_the_reason() -> None:
    orders = [
        Order("RUSH", (op("R", 480),), due=at(0, 14), priority=1),
        Order("A", (op("A/10", 240),), due=at(0, 14)),
    ]
    problem = plant(orders=orders)
    result = schedule(problem, direction="backward")
    check(problem, result)
    assert outcome(result, "RUSH").direction == "backward"
    a = outcome(result, "A")
    assert (a.direction, a.finish) == ("forward", at(1, 10))
    assert a.reason == "work center CNC busy"


def test_an_order_without_a_due_date_is_planned_forward() -> None:
    problem = plant(orders=[Order("A", (op("A/10", 60),))])
    a = outcome(schedule(problem, direction="backward"), "A")
    assert (a.direction, a.start, a.late) == ("forward", at(0, 6), False)
