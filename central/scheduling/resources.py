"""The load on machines and crews while a schedule is built, in working minutes.

Each work center computes on its own working-time axis (calendars.Timeline), where it is
always open: a machine is a sorted list of busy intervals, a crew a step function of the
people at work. Both answer "the earliest (or latest) free window of this length".
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right


class Machine:
    """Busy intervals of one machine, sorted and disjoint."""

    __slots__ = ("ends", "ops", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.ops: list[int] = []

    def earliest(self, est: int, d: int) -> int:
        """The earliest start at or after ``est`` of a free window ``d`` long."""
        starts, ends = self.starts, self.ends
        s = est
        for j in range(bisect_right(ends, est), len(starts)):
            if s + d <= starts[j]:
                return s
            if ends[j] > s:
                s = ends[j]
        return s

    def latest(self, lf: int, d: int) -> int:
        """The latest start of a free window ``d`` long that ends by ``lf``."""
        starts, ends = self.starts, self.ends
        e = lf
        j = bisect_left(starts, e) - 1
        while j >= 0 and ends[j] > e - d:
            e = min(e, starts[j])
            j -= 1
        return e - d

    def add(self, s: int, e: int, op: int) -> None:
        i = bisect_right(self.starts, s)
        self.starts.insert(i, s)
        self.ends.insert(i, e)
        self.ops.insert(i, op)

    def remove(self, op: int) -> None:
        i = self.ops.index(op)
        del self.starts[i], self.ends[i], self.ops[i]

    def copy(self) -> Machine:
        other = Machine()
        other.starts, other.ends, other.ops = self.starts[:], self.ends[:], self.ops[:]
        return other

    def ending_at(self, t: int) -> int | None:
        """The operation whose interval ends at ``t``, if one does."""
        i = bisect_left(self.ends, t)
        return self.ops[i] if i < len(self.ends) and self.ends[i] == t else None


class Crew:
    """People at work over time: ``used[i]`` from ``times[i]`` to ``times[i + 1]``."""

    __slots__ = ("size", "times", "used")

    def __init__(self, size: int) -> None:
        self.size = size
        self.times: list[int] = [-(1 << 62)]
        self.used: list[int] = [0]

    def earliest(self, est: int, d: int, people: int) -> int:
        """The earliest start at or after ``est`` with ``people`` free for ``d`` minutes."""
        times, used, limit = self.times, self.used, self.size - people
        t = est
        j = bisect_right(times, t) - 1
        n = len(times)
        while j < n and times[j] < t + d:
            if used[j] > limit:
                t = times[j + 1]  # the last step is back to 0 people, so j + 1 exists
            j += 1
        return t

    def latest(self, lf: int, d: int, people: int) -> int:
        """The latest start, ending by ``lf``, with ``people`` free for ``d`` minutes."""
        times, used, limit = self.times, self.used, self.size - people
        e = lf
        j = bisect_left(times, e) - 1
        while j >= 0 and (j + 1 == len(times) or times[j + 1] > e - d):
            if used[j] > limit:
                e = times[j]
            j -= 1
        return e - d

    def add(self, s: int, e: int, people: int) -> None:
        a, b = self._split(s), self._split(e)
        for i in range(a, b):
            self.used[i] += people

    def remove(self, s: int, e: int, people: int) -> None:
        self.add(s, e, -people)

    def copy(self) -> Crew:
        other = Crew(self.size)
        other.times, other.used = self.times[:], self.used[:]
        return other

    def _split(self, t: int) -> int:
        i = bisect_right(self.times, t) - 1
        if self.times[i] == t:
            return i
        self.times.insert(i + 1, t)
        self.used.insert(i + 1, self.used[i])
        return i + 1


def earliest_fit(machine: Machine, crew: Crew | None, est: int, d: int, people: int) -> int:
    """The earliest start at or after ``est`` where both the machine and the crew are free."""
    s = est
    while True:
        s = machine.earliest(s, d)
        if crew is None:
            return s
        t = crew.earliest(s, d, people)
        if t == s:
            return s
        s = t


def latest_fit(
    machine: Machine, crew: Crew | None, lf: int, d: int, people: int, floor: int
) -> int:
    """The latest start, ending by ``lf``, where the machine and the crew are free.

    Below ``floor`` the search stops: the answer is then some start before it.
    """
    e = lf
    while True:
        s = machine.latest(e, d)
        if crew is None or s < floor:
            return s
        t = crew.latest(s + d, d, people)
        if t == s:
            return s
        e = t + d


class Load:
    """Every machine and crew of a plant, and where each operation was put."""

    def __init__(self, machines: list[int], crews: list[int | None], ops: int) -> None:
        self.machines = [[Machine() for _ in range(n)] for n in machines]
        self.crews = [Crew(c) if c is not None else None for c in crews]
        self.wc = [-1] * ops
        self.machine = [-1] * ops
        self.people = [0] * ops
        self.start_w = [0] * ops  # working minutes on the work center's axis
        self.minutes = [0] * ops
        self.start = [0] * ops  # epoch minutes
        self.end = [0] * ops
        self.est = [0] * ops  # the earliest start its order and predecessors allowed

    def copy(self) -> Load:
        other = copy.copy(self)
        other.machines = [[m.copy() for m in ms] for ms in self.machines]
        other.crews = [c.copy() if c is not None else None for c in self.crews]
        other.wc, other.machine, other.people = self.wc[:], self.machine[:], self.people[:]
        other.start_w, other.minutes = self.start_w[:], self.minutes[:]
        other.start, other.end, other.est = self.start[:], self.end[:], self.est[:]
        return other

    def place(
        self, op: int, wc: int, m: int, people: int, s: int, d: int, start: int, end: int
    ) -> None:
        self.wc[op], self.machine[op], self.people[op] = wc, m, people
        self.start_w[op], self.minutes[op] = s, d
        self.start[op], self.end[op] = start, end
        if d:
            self.machines[wc][m].add(s, s + d, op)
            crew = self.crews[wc]
            if crew is not None:
                crew.add(s, s + d, people)

    def unplace(self, op: int) -> None:
        wc, d, s = self.wc[op], self.minutes[op], self.start_w[op]
        if wc >= 0 and d:
            self.machines[wc][self.machine[op]].remove(op)
            crew = self.crews[wc]
            if crew is not None:
                crew.remove(s, s + d, self.people[op])
        self.wc[op] = -1
