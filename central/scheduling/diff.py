"""What-if: how a proposed schedule differs from the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from central.scheduling.model import Schedule, Scheduled


@dataclass(frozen=True)
class Move:
    """An operation placed differently; ``before`` None: new, ``after`` None: dropped."""

    operation: str
    order: str
    before: Scheduled | None
    after: Scheduled | None


@dataclass(frozen=True)
class FinishChange:
    """An order that finishes at another time."""

    order: str
    before: datetime
    after: datetime
    minutes: int  # positive: later than now planned


@dataclass(frozen=True)
class ScheduleDiff:
    moved: tuple[Move, ...]
    finish_changed: tuple[FinishChange, ...]
    newly_late: tuple[str, ...]
    no_longer_late: tuple[str, ...]

    @property
    def unchanged(self) -> bool:
        return not (self.moved or self.finish_changed)


def diff(current: Schedule, proposed: Schedule) -> ScheduleDiff:
    """Operations moved, orders whose finish changed, orders late now and not before (or back)."""
    before = {s.operation: s for s in current.operations}
    after = {s.operation: s for s in proposed.operations}
    moved = []
    for op in [*before, *(op for op in after if op not in before)]:
        a, b = before.get(op), after.get(op)
        if a != b:
            order = a.order if a is not None else b.order if b is not None else ""
            moved.append(Move(op, order, a, b))
    was = {o.order: o for o in current.orders}
    finish_changed = []
    newly_late, no_longer_late = [], []
    for outcome in proposed.orders:
        old = was.get(outcome.order)
        if old is None:
            if outcome.late:
                newly_late.append(outcome.order)
            continue
        if old.finish != outcome.finish:
            minutes = round((outcome.finish - old.finish).total_seconds() / 60)
            finish_changed.append(FinishChange(outcome.order, old.finish, outcome.finish, minutes))
        if outcome.late and not old.late:
            newly_late.append(outcome.order)
        elif old.late and not outcome.late:
            no_longer_late.append(outcome.order)
    return ScheduleDiff(
        tuple(moved), tuple(finish_changed), tuple(newly_late), tuple(no_longer_late)
    )
