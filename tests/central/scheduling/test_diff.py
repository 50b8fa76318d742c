"""What-if: a proposal compared with the current schedule."""

from __future__ import annotations

from central.scheduling import Order, diff, schedule
from tests.central.scheduling.support import at, op, plant


def test_a_rush_order_moves_work_and_makes_an_order_late() -> None:
    current_orders = [
        Order("A", (op("A/10", 240),), due=at(0, 10)),
        Order("B", (op("B/10", 240),), due=at(0, 14)),
    ]
    rush = Order("RUSH", (op("R/10", 240),), due=at(0, 10), priority=1)
    current = schedule(plant(orders=current_orders))
    proposed = schedule(plant(orders=[*current_orders, rush]))
    change = diff(current, proposed)
    assert {m.operation for m in change.moved} == {"A/10", "B/10", "R/10"}
    added = next(m for m in change.moved if m.operation == "R/10")
    assert added.before is None and added.after is not None and added.after.start == at(0, 6)
    assert {(f.order, f.minutes) for f in change.finish_changed} == {("A", 240), ("B", 20 * 60)}
    assert change.newly_late == ("A", "B")
    assert change.no_longer_late == ()
    back = diff(proposed, current)
    assert back.no_longer_late == ("A", "B") and back.newly_late == ()
    assert next(m for m in back.moved if m.operation == "R/10").after is None


def test_the_same_schedule_changes_nothing() -> None:
    result = schedule(plant(orders=[Order("A", (op("A/10", 60),))]))
    assert diff(result, result).unchanged
