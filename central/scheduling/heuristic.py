"""The heuristic scheduler: list scheduling forward or backward, then a tabu search.

Forward, operations are put in a dispatch list (priority, then the latest start their
due date allows, else the most work remaining; or urgency before priority when that is
no worse for the higher priorities) and each goes, in list order, into the earliest
window of its work centers where a machine and the crew are free, gaps included.
A tabu search over that list then moves operations on the critical path ahead of the
one that held them up, within a time limit, and keeps the best schedule:
least tardiness by priority class, then (minimum) fewest machines, then makespan.

Backward, each order (priority, then due date first) is planned from its due date,
each operation as late as it can finish; an order that would start before now, its
release or its material is planned forward instead, and is late if it ends after due.

Strategies: fastest takes whichever work center, machine and crew size ends each
operation first; minimum keeps to the preferred work center, the lowest-numbered
machine and the least crew while the operation still ends by the time its order's due
date needs, so an order without a due date stays on as few resources as there are.
"""

from __future__ import annotations

from central.scheduling.compiled import Compiled
from central.scheduling.model import Direction, Problem, Schedule, Strategy
from central.scheduling.outcome import assemble
from central.scheduling.placement import backward, decode, dispatch_list
from central.scheduling.tabu import improve, objective


def schedule(
    problem: Problem,
    *,
    direction: Direction = "forward",
    strategy: Strategy = "fastest",
    time_limit: float = 1.0,
    max_steps: int | None = None,
    seed: int = 0,
) -> Schedule:
    """Schedule every order.

    The forward improvement stops after ``time_limit`` seconds or ``max_steps`` steps;
    give steps (and time to spare) for the same schedule on every machine, or a time
    limit of 0 for the list schedule alone.
    """
    c = Compiled(problem)
    if direction == "forward":
        minimum = strategy == "minimum"
        # priority first, or (when that costs the higher priorities nothing) urgency first
        tries = [decode(c, dispatch_list(c), strategy)]
        if len(c.priority_classes) > 1:
            tries.append(decode(c, dispatch_list(c, urgency_first=True), strategy))
        load = min(tries, key=lambda x: objective(c, x, minimum))
        if time_limit > 0 and c.op_id:
            load = improve(c, load, strategy, time_limit, seed, max_steps)
        planned: list[Direction] = ["forward"] * len(c.order_id)
    else:
        load, planned = backward(c, strategy)
    return assemble(c, load, direction, strategy, planned)
