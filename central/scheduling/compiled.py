"""A problem checked once and turned into indexes and working minutes, for the hot loops."""

from __future__ import annotations

import math
from typing import NamedTuple

from central.scheduling.calendars import Calendar, Timeline, minute_of
from central.scheduling.errors import SchedulingError
from central.scheduling.model import Operation, Order, Problem

NO_DUE = 1 << 62


def _after(line: Timeline, t: int, minutes: int) -> int:
    """The end of ``minutes`` of work started at ``t``."""
    return line.end_at(line.worked(t) + minutes) if minutes else t


class Option(NamedTuple):
    """One way to run an operation: at this work center with this many people."""

    wc: int
    crew: int
    minutes: int  # working minutes at that work center


class Compiled:
    """Indexes of work centers, orders and operations; times in epoch minutes."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.origin = minute_of(problem.now)
        self._work_centers(problem)
        self._orders(problem)
        ranks = sorted(set(self.order_priority), reverse=True)
        self.priority_classes = {p: i for i, p in enumerate(ranks)}  # highest priority first
        self.topo = self._topological_order()
        self.tail = self._tails()
        self.latest_end = self._latest_ends()
        self.bound = self._bound()

    def _work_centers(self, problem: Problem) -> None:
        self.wc_code: list[str] = []
        self.wc_index: dict[str, int] = {}
        self.machines: list[int] = []
        self.crew: list[int | None] = []
        self.timeline: list[Timeline] = []
        lines: dict[Calendar, Timeline] = {}
        for wc in problem.work_centers:
            if wc.code in self.wc_index:
                raise SchedulingError(f"work center {wc.code} is given twice")
            if wc.machines < 1 or (wc.crew is not None and wc.crew < 1):
                raise SchedulingError(f"work center {wc.code} needs a machine and a person")
            self.wc_index[wc.code] = len(self.wc_code)
            self.wc_code.append(wc.code)
            self.machines.append(wc.machines)
            self.crew.append(wc.crew)
            if wc.calendar not in lines:
                lines[wc.calendar] = Timeline(wc.calendar, self.origin)
            self.timeline.append(lines[wc.calendar])

    def _orders(self, problem: Problem) -> None:
        self.order_id: list[str] = []
        self.order_earliest: list[int] = []
        self.order_cause: list[str | None] = []  # what holds the order back until earliest
        self.order_due: list[int] = []  # NO_DUE when it has none
        self.order_priority: list[int] = []
        self.order_ops: list[list[int]] = []
        self.op_id: list[str] = []
        self.op_order: list[int] = []
        self.options: list[list[Option]] = []  # every work center and crew size
        self.minimal: list[list[Option]] = []  # every work center, the least crew
        self.preds: list[list[int]] = []
        self.succs: list[list[int]] = []
        self.op_earliest: list[int] = []  # the order's earliest, or later where pinned
        index: dict[str, int] = {}
        seen: set[str] = set()
        for o, order in enumerate(problem.orders):
            if order.id in seen:
                raise SchedulingError(f"order {order.id} is given twice")
            seen.add(order.id)
            self.order_id.append(order.id)
            earliest, cause = self._earliest(order)
            self.order_earliest.append(earliest)
            self.order_cause.append(cause)
            self.order_due.append(minute_of(order.due) if order.due else NO_DUE)
            self.order_priority.append(order.priority)
            ops = []
            for op in order.operations:
                if op.id in index:
                    raise SchedulingError(f"operation {op.id} is given twice")
                index[op.id] = len(self.op_id)
                ops.append(len(self.op_id))
                self.op_id.append(op.id)
                self.op_order.append(o)
                pinned = minute_of(op.not_before) if op.not_before else earliest
                self.op_earliest.append(max(earliest, pinned))
                self.options.append(self._options(op))
                self.minimal.append([x for x in self.options[-1] if x.crew == op.crew_size])
                self.preds.append([])
                self.succs.append([])
            self.order_ops.append(ops)
        for order in problem.orders:
            for op in order.operations:
                i = index[op.id]
                for before in op.predecessors:
                    j = index.get(before)
                    if j is None or self.op_order[j] != self.op_order[i]:
                        raise SchedulingError(
                            f"operation {op.id}: predecessor {before} is not in {order.id}"
                        )
                    self.preds[i].append(j)
                    self.succs[j].append(i)

    def _earliest(self, order: Order) -> tuple[int, str | None]:
        earliest, cause = self.origin, None
        if order.release and minute_of(order.release) > earliest:
            earliest = minute_of(order.release)
            cause = f"release date {order.release.date().isoformat()}"
        for material in order.materials:
            if minute_of(material.available) > earliest:
                earliest = minute_of(material.available)
                cause = (
                    f"material {material.item} available {material.available.date().isoformat()}"
                )
        return earliest, cause

    def _options(self, op: Operation) -> list[Option]:
        options = []
        most = max(op.max_crew or op.crew_size, op.crew_size)
        for code in op.work_centers:
            wc = self.wc_index.get(code)
            if wc is None:
                raise SchedulingError(f"operation {op.id}: no work center {code}")
            cap = self.crew[wc]
            for people in range(op.crew_size, most + 1):
                if cap is not None and people > cap:
                    break
                run = op.run_minutes_per_unit * op.quantity * op.crew_size / people
                minutes = math.ceil(op.setup_minutes + run - 1e-9)
                options.append(Option(wc, people, max(minutes, 0)))
        if not options:
            raise SchedulingError(
                f"operation {op.id}: no work center has a crew of {op.crew_size} for it"
            )
        return options

    def _topological_order(self) -> list[int]:
        waiting = [len(p) for p in self.preds]
        ready = [i for i, n in enumerate(waiting) if n == 0]
        out = []
        while ready:
            i = ready.pop()
            out.append(i)
            for j in self.succs[i]:
                waiting[j] -= 1
                if waiting[j] == 0:
                    ready.append(j)
        if len(out) != len(self.op_id):
            stuck = sorted(self.op_id[i] for i, n in enumerate(waiting) if n)
            raise SchedulingError(f"the predecessors of {stuck[:5]} form a cycle")
        return out

    def _tails(self) -> list[int]:
        """Working minutes from each operation's start to its order's end, the quickest way."""
        tail = [0] * len(self.op_id)
        for i in reversed(self.topo):
            after = max((tail[j] for j in self.succs[i]), default=0)
            tail[i] = min(x.minutes for x in self.options[i]) + after
        return tail

    def _bound(self) -> tuple[int, ...]:
        """No schedule has less tardiness per priority class, nor an earlier last end.

        Each operation as early as its predecessors allow on its quickest work center,
        and each work center's sole work spread over its machines from now on.
        """
        end = [0] * len(self.op_id)
        for i in self.topo:
            est = max([self.op_earliest[i]] + [end[p] for p in self.preds[i]])
            end[i] = min(_after(self.timeline[x.wc], est, x.minutes) for x in self.options[i])
        finish = [max((end[i] for i in ops), default=self.origin) for ops in self.order_ops]
        tardy = [0] * len(self.priority_classes)
        for o, f in enumerate(finish):
            tardy[self.priority_classes[self.order_priority[o]]] += max(0, f - self.order_due[o])
        sole = [0] * len(self.wc_code)
        for options in self.options:
            if len({x.wc for x in options}) == 1:
                sole[options[0].wc] += min(x.minutes for x in options)
        last = max(finish, default=self.origin)
        for wc, minutes in enumerate(sole):
            if minutes:
                last = max(last, self.timeline[wc].end_at(-(-minutes // self.machines[wc])))
        return (*tardy, last - self.origin)

    def _latest_ends(self) -> list[int]:
        """When each operation must end for its order to meet its due date, capacity aside."""
        end = [NO_DUE] * len(self.op_id)
        start = [NO_DUE] * len(self.op_id)
        for i in reversed(self.topo):
            due = self.order_due[self.op_order[i]]
            if due == NO_DUE:
                continue
            end[i] = min((start[j] for j in self.succs[i]), default=due)
            option = self.options[i][0]
            line = self.timeline[option.wc]
            left = line.worked(end[i]) - option.minutes
            start[i] = line.start_at(left) if left >= 0 else end[i] - option.minutes
        return end
