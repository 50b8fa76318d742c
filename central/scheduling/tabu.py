"""Tabu search over a dispatch list: the forward schedule's improvement within a time limit.

A step looks at the critical path into the operation that sets the objective (the last
to end, or a late order's last), tries moving the operation at either end of each block
of waits on one machine or crew ahead of the one it waited for, re-places the list from
there on, and takes the best move not recently undone (the N5 neighbourhood of job-shop
tabu search, over a list instead of machine sequences, so calendars, alternatives and
crews need nothing special).
"""

from __future__ import annotations

import time
from random import Random

from central.scheduling.compiled import NO_DUE, Compiled
from central.scheduling.model import Strategy
from central.scheduling.placement import decode, place_forward
from central.scheduling.resources import Load

_CHAIN_LIMIT = 10_000
_TENURE = (4, 10)  # steps a move stays tabu
_STALL = 300  # steps without a new best before going back to the best


def objective(c: Compiled, load: Load, minimum: bool) -> tuple[int, ...]:
    """Lower is better: tardiness by priority class (highest first), then makespan."""
    finish = [0] * len(c.order_id)
    for op, end in enumerate(load.end):
        o = c.op_order[op]
        if end > finish[o]:
            finish[o] = end
    classes = c.priority_classes
    tardy = [0] * len(classes)
    for o, f in enumerate(finish):
        due = c.order_due[o]
        if f > due:
            tardy[classes[c.order_priority[o]]] += f - due
    makespan = max(finish, default=c.origin) - c.origin
    used = 0
    if minimum:
        used = len({(w, m) for w, m in zip(load.wc, load.machine, strict=True) if w >= 0})
    return (*tardy, used, makespan, sum(finish))


def improve(
    c: Compiled,
    load: Load,
    strategy: Strategy,
    time_limit: float,
    seed: int,
    max_steps: int | None = None,
) -> Load:
    """Tabu search over the dispatch list, within ``time_limit`` seconds.

    Each step tries moving an operation at either end of a critical block (operations
    that wait for one another on one machine or crew) ahead of the one it waited for,
    re-placing only the list from there on, and takes the best move not recently undone.
    """
    minimum = strategy == "minimum"
    rng = Random(seed)
    stop = time.perf_counter() + time_limit
    rank = {op: i for i, op in enumerate(c.topo)}
    sequence = sorted(range(len(c.op_id)), key=lambda op: (load.start[op], load.end[op], rank[op]))
    current = decode(c, sequence, strategy)
    value = objective(c, current, minimum)
    best, best_value, best_sequence = load, objective(c, load, minimum), sequence
    if value < best_value:
        best, best_value = current, value
    tabu: dict[tuple[int, int], int] = {}
    step = stall = 0
    restarted = False
    steps = max_steps if max_steps is not None else 1 << 62
    while step < steps and time.perf_counter() < stop and not _at_bound(c, best_value):
        step += 1
        pos = [0] * len(sequence)
        for i, op in enumerate(sequence):
            pos[op] = i
        trials = []
        for x, y in block_ends(current, critical_moves(c, current, _target(c, current, rng))):
            moved_to = moved(c, sequence, pos, x, y)
            if moved_to is None:
                continue
            candidate, first = moved_to
            trial = redecode(c, current, sequence, candidate, first, minimum)
            trials.append((objective(c, trial, minimum), rng.random(), x, y, candidate, trial))
            if time.perf_counter() > stop:
                break
        trials.sort(key=lambda t: t[:2])
        if not trials and restarted:
            break  # nothing on the best schedule's critical path can move
        if not trials or stall > _STALL:
            sequence, current, stall = best_sequence, decode(c, best_sequence, strategy), 0
            tabu.clear()
            restarted = True
            continue
        restarted = False
        # all moves tabu: the best of them, rather than standing still
        chosen = next(
            (t for t in trials if tabu.get(t[2:4], 0) < step or t[0] < best_value), trials[0]
        )
        value, _, x, y, sequence, current = chosen
        tabu[y, x] = step + rng.randint(*_TENURE)
        stall += 1
        if value < best_value:
            best, best_value, best_sequence, stall = current, value, sequence, 0
    return best


def _at_bound(c: Compiled, value: tuple[int, ...]) -> bool:
    """Whether tardiness and makespan are as low as they can be."""
    classes = len(c.priority_classes)
    return value[:classes] == c.bound[:classes] and value[classes + 1] == c.bound[classes]


def redecode(
    c: Compiled, base: Load, sequence: list[int], candidate: list[int], first: int, minimum: bool
) -> Load:
    """Decode ``candidate``, which matches ``sequence`` (decoded as ``base``) before ``first``."""
    load = base.copy()
    for op in sequence[first:]:
        load.unplace(op)
    for op in candidate[first:]:
        place_forward(c, load, op, minimum)
    return load


def _target(c: Compiled, load: Load, rng: Random) -> int:
    """The operation whose end sets the objective: a late order's last, else one that ends last."""
    late = []
    for ops, due in zip(c.order_ops, c.order_due, strict=True):
        if due != NO_DUE and ops:
            last = max(ops, key=load.end.__getitem__)
            if load.end[last] > due:
                late.append(last)
    if late:
        return rng.choice(late)
    last = max(load.end)
    return rng.choice([op for op, end in enumerate(load.end) if end == last])


def critical_moves(c: Compiled, load: Load, op: int) -> list[tuple[int, int]]:
    """Pairs (x, y) on the critical path into ``op`` where x waited for y's machine or crew."""
    moves = []
    x = op
    for _ in range(_CHAIN_LIMIT):
        wc = load.wc[x]
        s = load.start_w[x]
        if load.minutes[x] and s > c.timeline[wc].worked(load.est[x]):
            y = load.machines[wc][load.machine[x]].ending_at(s)
            if y is None:
                for machine in load.machines[wc]:
                    y = machine.ending_at(s)
                    if y is not None:
                        break
            if y is None:
                break
            moves.append((x, y))
            x = y
            continue
        est = load.est[x]
        before = [p for p in c.preds[x] if load.end[p] == est]
        if not before:
            break
        x = before[0]
    return moves


def block_ends(load: Load, moves: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The first and last pair of each block: a run of waits on one machine.

    Swapping inside a block cannot shorten the path (the N5 neighbourhood of job-shop
    tabu search), so only the ends are tried.
    """
    out: list[tuple[int, int]] = []
    block: list[tuple[int, int]] = []
    for x, y in moves:
        if block and (block[-1][1] != x or load.wc[x] != load.wc[y]):
            out += [block[0], block[-1]] if len(block) > 1 else block
            block = []
        block.append((x, y))
    if block:
        out += [block[0], block[-1]] if len(block) > 1 else block
    return out


def moved(
    c: Compiled, sequence: list[int], pos: list[int], x: int, y: int
) -> tuple[list[int], int] | None:
    """The list with x moved just before y, and where it first differs; None if it cannot be.

    x's predecessors listed between y and x come along, in their order, ahead of x.
    """
    px, py = pos[x], pos[y]
    if px < py:
        return None
    group = {x}
    for i in range(px - 1, py - 1, -1):
        op = sequence[i]
        if any(s in group for s in c.succs[op]):
            if op == y:
                return None  # y is an ancestor of x
            group.add(op)
    span = sequence[py : px + 1]
    ahead = [op for op in span if op in group]
    return sequence[:py] + ahead + [op for op in span if op not in group] + sequence[px + 1 :], py
