"""List scheduling: operations placed one by one, forward into the earliest window or
backward into the latest, on the work centers, machines and crews that the strategy picks.
"""

from __future__ import annotations

import heapq

from central.scheduling.compiled import NO_DUE, Compiled
from central.scheduling.model import Direction, Strategy
from central.scheduling.resources import Load, earliest_fit, latest_fit


def dispatch_list(c: Compiled, urgency_first: bool = False) -> list[int]:
    """Operations in dispatch order: predecessors first, then by priority and urgency.

    Urgency is the latest start the due date allows, or for orders without one the
    most work remaining.
    """
    keys = []
    for op in range(len(c.op_id)):
        o = c.op_order[op]
        if c.order_due[o] != NO_DUE:
            urgency = (0, c.latest_end[op] - c.options[op][0].minutes)
        else:
            urgency = (1, -c.tail[op])
        priority = -c.order_priority[o]
        keys.append((*urgency, priority, op) if urgency_first else (priority, *urgency, op))
    waiting = [len(p) for p in c.preds]
    ready = [keys[op] for op in range(len(c.op_id)) if not waiting[op]]
    heapq.heapify(ready)
    out = []
    while ready:
        op = heapq.heappop(ready)[-1]
        out.append(op)
        for nxt in c.succs[op]:
            waiting[nxt] -= 1
            if not waiting[nxt]:
                heapq.heappush(ready, keys[nxt])
    return out


def decode(c: Compiled, sequence: list[int], strategy: Strategy) -> Load:
    """Place the operations forward in list order."""
    load = Load(c.machines, c.crew, len(c.op_id))
    minimum = strategy == "minimum"
    for op in sequence:
        place_forward(c, load, op, minimum)
    return load


def place_forward(c: Compiled, load: Load, op: int, minimum: bool) -> None:
    """Put one operation into the earliest window its predecessors and resources allow.

    Fastest takes the work center, crew size and machine that end it first; minimum
    takes the first (preferred work center, lowest machine, least crew) that still
    meets the operation's latest end, or the one that ends first when none does.
    """
    est = c.op_earliest[op]
    ends = load.end
    for p in c.preds[op]:
        if ends[p] > est:
            est = ends[p]
    load.est[op] = est
    options = c.minimal[op] if minimum else c.options[op]
    if options[0].minutes == 0:
        wc = options[0].wc
        load.place(op, wc, 0, options[0].crew, c.timeline[wc].worked(est), 0, est, est)
        return
    deadline = c.latest_end[op]
    best_end = NO_DUE
    best = options[0].wc, 0, options[0].crew, 0, 0
    for wc, people, d in options:
        line = c.timeline[wc]
        ew = line.worked(est)
        crew = load.crews[wc]
        for m, machine in enumerate(load.machines[wc]):
            s = earliest_fit(machine, crew, ew, d, people)
            e = line.end_at(s + d)
            if e < best_end:
                best_end, best = e, (wc, m, people, s, d)
                if minimum and e <= deadline:
                    break
            if s == ew:
                break  # the other machines cannot start it sooner
        if minimum and best_end <= deadline:
            break
    wc, m, people, s, d = best
    load.place(op, wc, m, people, s, d, c.timeline[wc].start_at(s), best_end)


def backward(c: Compiled, strategy: Strategy) -> tuple[Load, list[Direction]]:
    """Plan each order just in time for its due date, forward where that cannot work."""
    load = Load(c.machines, c.crew, len(c.op_id))
    minimum = strategy == "minimum"
    by_order: list[list[int]] = [[] for _ in c.order_id]
    for op in c.topo:
        by_order[c.op_order[op]].append(op)
    planned: list[Direction] = ["forward"] * len(c.order_id)
    turn = sorted(
        range(len(c.order_id)),
        key=lambda o: (c.order_due[o] == NO_DUE, -c.order_priority[o], c.order_due[o], o),
    )
    for o in turn:
        if c.order_due[o] != NO_DUE and _backward_order(c, load, by_order[o], minimum):
            planned[o] = "backward"
            continue
        for op in by_order[o]:
            place_forward(c, load, op, minimum)
    return load, planned


def _backward_order(c: Compiled, load: Load, ops: list[int], minimum: bool) -> bool:
    o = c.op_order[ops[0]]
    due, floor = c.order_due[o], c.order_earliest[o]
    placed: list[int] = []
    for op in reversed(ops):
        lf = min((load.start[s] for s in c.succs[op]), default=due)
        if not _place_backward(c, load, op, lf, floor, minimum):
            for p in placed:
                load.unplace(p)
            return False
        placed.append(op)
    return True


def _place_backward(c: Compiled, load: Load, op: int, lf: int, floor: int, minimum: bool) -> bool:
    """Put one operation into the latest window that ends by ``lf``; False if none after floor."""
    load.est[op] = floor
    options = c.minimal[op] if minimum else c.options[op]
    if options[0].minutes == 0:
        if lf < floor:
            return False
        wc = options[0].wc
        load.place(op, wc, 0, options[0].crew, c.timeline[wc].worked(lf), 0, lf, lf)
        return True
    best_start = -1
    best = None
    for wc, people, d in options:
        line = c.timeline[wc]
        lw, fw = line.worked(lf), line.worked(floor)
        crew = load.crews[wc]
        for m, machine in enumerate(load.machines[wc]):
            s = latest_fit(machine, crew, lw, d, people, fw)
            if s < fw:
                continue
            start = line.start_at(s)
            if start > best_start:
                best_start, best = start, (wc, m, people, s, d)
            if minimum or s + d == lw:
                break
        if minimum and best is not None:
            break
    if best is None:
        return False
    wc, m, people, s, d = best
    load.place(op, wc, m, people, s, d, best_start, c.timeline[wc].end_at(s + d))
    return True
