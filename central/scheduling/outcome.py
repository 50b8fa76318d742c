"""From placed operations to a Schedule: order outcomes, why late orders are late, figures."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from central.scheduling.calendars import instant_of
from central.scheduling.compiled import NO_DUE, Compiled
from central.scheduling.model import (
    Direction,
    Kpis,
    OrderOutcome,
    Schedule,
    Scheduled,
    Strategy,
)
from central.scheduling.resources import Load


def assemble(
    c: Compiled,
    load: Load,
    direction: Direction,
    strategy: Strategy | Literal["optimised"],
    planned: list[Direction],
) -> Schedule:
    """The schedule a load describes."""
    est = earliest_starts(c, load)
    operations = tuple(
        Scheduled(
            c.op_id[op],
            c.order_id[c.op_order[op]],
            c.wc_code[load.wc[op]],
            load.machine[op],
            load.people[op],
            instant_of(load.start[op]),
            instant_of(load.end[op]),
        )
        for op in range(len(c.op_id))
    )
    orders = []
    for o, ops in enumerate(c.order_ops):
        start = min((load.start[op] for op in ops), default=c.order_earliest[o])
        finish = max((load.end[op] for op in ops), default=start)
        due = c.order_due[o]
        late = due != NO_DUE and finish > due
        orders.append(
            OrderOutcome(
                c.order_id[o],
                instant_of(start),
                instant_of(finish),
                c.problem.orders[o].due,
                late,
                finish - due if late else 0,
                lateness_reason(c, load, est, o) if late else None,
                planned[o],
            )
        )
    return Schedule(operations, tuple(orders), kpis(c, load, orders), direction, strategy)


def earliest_starts(c: Compiled, load: Load) -> list[int]:
    """When each operation could have started as far as its order and predecessors go."""
    est = [0] * len(c.op_id)
    for op in c.topo:
        est[op] = max([c.op_earliest[op]] + [load.end[p] for p in c.preds[op]])
    return est


def lateness_reason(c: Compiled, load: Load, est: list[int], o: int) -> str:
    """What held a late order up most, following its critical path back from its last operation.

    Each wait on the way is put down to a cause: a busy machine or crew, a closed
    calendar (a holiday named), or at the start the material or release date. The
    cause with the most minutes is the reason; none at all means the routing takes
    longer than the time there was.
    """
    waits: dict[str, int] = defaultdict(int)
    x = max(c.order_ops[o], key=load.end.__getitem__)
    while True:
        wc, code = load.wc[x], c.wc_code[load.wc[x]]
        line = c.timeline[wc]
        opening = line.start_at(line.worked(est[x])) if load.minutes[x] else est[x]
        if load.start[x] > opening:
            machine = load.machines[wc][load.machine[x]]
            busy = "work center" if machine.ending_at(load.start_w[x]) is not None else "crew at"
            waits[f"{busy} {code} busy"] += load.start[x] - opening
        if opening > est[x]:
            holidays = line.closed_days(est[x], opening)
            cause = (
                f"calendar: holiday {holidays[0]} at {code}"
                if holidays
                else f"calendar: {code} closed"
            )
            waits[cause] += opening - est[x]
        before = [p for p in c.preds[x] if load.end[p] == est[x]]
        if before and est[x] > c.order_earliest[o]:
            x = before[0]
            continue
        held = c.order_cause[o]
        if held is not None:
            waits[held] += c.order_earliest[o] - c.origin
        break
    if not waits:
        return "lead time: the routing takes longer than the time to the due date"
    return max(waits, key=lambda k: waits[k])


def kpis(c: Compiled, load: Load, orders: list[OrderOutcome]) -> Kpis:
    last = max(load.end, default=c.origin)
    busy: dict[int, int] = defaultdict(int)
    machines: set[tuple[int, int]] = set()
    people: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for op in range(len(c.op_id)):
        if load.minutes[op]:
            wc = load.wc[op]
            busy[wc] += load.minutes[op]
            machines.add((wc, load.machine[op]))
            people[wc] += [(load.start[op], load.people[op]), (load.end[op], -load.people[op])]
    peak = 0
    for steps in people.values():
        now = top = 0
        for _, change in sorted(steps):  # ends sort before starts at the same minute
            now += change
            top = max(top, now)
        peak += top
    utilisation = {}
    for wc, code in enumerate(c.wc_code):
        open_minutes = c.machines[wc] * c.timeline[wc].worked(last)
        utilisation[code] = round(busy[wc] / open_minutes, 4) if open_minutes else 0.0
    return Kpis(
        makespan_minutes=last - c.origin,
        total_tardiness_minutes=sum(x.lateness_minutes for x in orders),
        late_orders=sum(x.late for x in orders),
        work_centers_used=sum(1 for minutes in busy.values() if minutes),
        machines_used=len(machines),
        peak_crew=peak,
        utilisation=utilisation,
    )
