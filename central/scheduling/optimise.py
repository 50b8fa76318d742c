"""Optimise a schedule with a constraint solver (OR-Tools CP-SAT) under a time limit.

The model lives on the working-time axis of the one calendar all work centers share
(calendars.Timeline), where every work center is always open: an interval per operation
and alternative (work center, crew size), one of them present; NoOverlap per single
machine, Cumulative for identical machines and for crews; precedences; nothing before
the order's release, material or now. The heuristic schedule is the solution hint, so
the answer is never worse than it. Objective values and bounds are in working minutes.
"""

from __future__ import annotations

import math

from ortools.sat.python import cp_model

from central.scheduling import heuristic
from central.scheduling.calendars import minute_of
from central.scheduling.compiled import NO_DUE, Compiled
from central.scheduling.errors import SchedulingError
from central.scheduling.model import Direction, Objective, Optimised, Problem, Schedule
from central.scheduling.outcome import assemble
from central.scheduling.resources import Load

_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}


def optimise(
    problem: Problem,
    *,
    objective: Objective = "makespan",
    time_limit: float = 30.0,
    workers: int = 2,
    hint: Schedule | None = None,
    seed: int = 0,
) -> Optimised:
    """The best schedule CP-SAT finds within ``time_limit`` seconds, starting from ``hint``.

    Without a hint the heuristic's forward fastest schedule is used. All work centers
    must share one calendar (SchedulingError otherwise).
    """
    c = Compiled(problem)
    line = c.timeline[0] if c.timeline else None
    if any(t is not line for t in c.timeline):
        raise SchedulingError("optimise needs all work centers on one calendar")
    if hint is None:
        hint = heuristic.schedule(problem, time_limit=min(1.0, time_limit / 10))
    if not c.op_id or line is None:
        return Optimised(hint, objective, 0, 0, "OPTIMAL", 0.0)
    model = cp_model.CpModel()
    n = len(c.op_id)
    earliest = [line.worked(t) for t in c.op_earliest]
    horizon = max(earliest, default=0) + sum(max(x.minutes for x in ops) for ops in c.options)
    starts = [model.new_int_var(earliest[i], horizon, f"s{i}") for i in range(n)]
    ends = [model.new_int_var(earliest[i], horizon, f"e{i}") for i in range(n)]
    chosen: list[list[cp_model.IntVar]] = []  # empty: the only option
    by_wc: dict[int, list[tuple[cp_model.IntervalVar, int]]] = {}
    for i, options in enumerate(c.options):
        if len(options) == 1:
            wc, people, d = options[0]
            interval = model.new_interval_var(starts[i], d, ends[i], f"i{i}")
            by_wc.setdefault(wc, []).append((interval, people))
            chosen.append([])
            continue
        present = []
        for j, (wc, people, d) in enumerate(options):
            lit = model.new_bool_var(f"p{i}_{j}")
            interval = model.new_optional_interval_var(starts[i], d, ends[i], lit, f"i{i}_{j}")
            by_wc.setdefault(wc, []).append((interval, people))
            present.append(lit)
        model.add_exactly_one(present)
        chosen.append(present)
    for wc, items in by_wc.items():
        intervals = [iv for iv, _ in items]
        if c.machines[wc] == 1:
            model.add_no_overlap(intervals)
        else:
            model.add_cumulative(intervals, [1] * len(intervals), c.machines[wc])
        crew = c.crew[wc]
        if crew is not None and crew < c.machines[wc] * max(p for _, p in items):
            model.add_cumulative(intervals, [p for _, p in items], crew)
    for i in range(n):
        for p in c.preds[i]:
            model.add(starts[i] >= ends[p])
    finals = [i for i in range(n) if not c.succs[i]]
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, [ends[i] for i in finals])
    weight = 1  # of the objective's main term over makespan
    if objective == "makespan":
        model.minimize(makespan)
    else:
        late = []
        for i in finals:
            due = c.order_due[c.op_order[i]]
            if due != NO_DUE:
                t = model.new_int_var(0, horizon, f"t{i}")
                model.add(t >= ends[i] - line.worked(due))
                late.append((c.op_order[i], t))
        tardiness = []
        for o in sorted({o for o, _ in late}):
            worst = model.new_int_var(0, horizon, f"late{o}")
            model.add_max_equality(worst, [t for k, t in late if k == o])
            tardiness.append(worst)
        # tardiness first, then makespan: otherwise on-time work may drift anywhere
        weight = horizon + 1
        model.minimize(weight * sum(tardiness) + makespan)
    _add_hint(model, c, hint, starts, chosen)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    name = _STATUS.get(status, str(status))
    lowest = solver.best_objective_bound
    # a fractional bound rounds up; without one the solver may report infinity
    bound = math.ceil(lowest - 1e-6) // weight if math.isfinite(lowest) else 0
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value = _value(c, hint, objective)
        return Optimised(hint, objective, value, min(bound, value), name, solver.wall_time)
    load = Load(c.machines, c.crew, n)
    _place(c, load, solver, starts, chosen)
    planned: list[Direction] = ["forward"] * len(c.order_id)
    result = assemble(c, load, "forward", "optimised", planned)
    return Optimised(
        result, objective, round(solver.objective_value) // weight, bound, name, solver.wall_time
    )


def _value(c: Compiled, result: Schedule, objective: Objective) -> int:
    """The objective of a schedule in the solver's working minutes."""
    line = c.timeline[0]
    if objective == "makespan":
        return max((line.worked(minute_of(s.end)) for s in result.operations), default=0)
    due = dict(zip(c.order_id, c.order_due, strict=True))
    return sum(
        max(0, line.worked(minute_of(o.finish)) - line.worked(due[o.order]))
        for o in result.orders
        if due[o.order] != NO_DUE
    )


def _add_hint(
    model: cp_model.CpModel,
    c: Compiled,
    hint: Schedule,
    starts: list[cp_model.IntVar],
    chosen: list[list[cp_model.IntVar]],
) -> None:
    """Start the search from the given schedule."""
    line = c.timeline[0]
    placed = {s.operation: s for s in hint.operations}
    for i, op_id in enumerate(c.op_id):
        s = placed.get(op_id)
        if s is None:
            continue
        model.add_hint(starts[i], line.worked(minute_of(s.start)))
        for lit, option in zip(chosen[i], c.options[i], strict=False):
            model.add_hint(lit, c.wc_code[option.wc] == s.work_center and option.crew == s.crew)


def _place(
    c: Compiled,
    load: Load,
    solver: cp_model.CpSolver,
    starts: list[cp_model.IntVar],
    chosen: list[list[cp_model.IntVar]],
) -> None:
    """Put the solution into a load, each operation on the lowest-numbered free machine."""
    picked = []
    for i, lits in enumerate(chosen):
        j = next((k for k, lit in enumerate(lits) if solver.value(lit)), 0)
        picked.append((solver.value(starts[i]), i, c.options[i][j]))
    free_at = [[0] * m for m in c.machines]
    for s, i, (wc, people, d) in sorted(picked):
        machine = 0
        if d:
            times = free_at[wc]
            # the cumulative constraint leaves a machine free at every start
            machine = next((m for m, at in enumerate(times) if at <= s), 0)
            times[machine] = s + d
        line = c.timeline[wc]
        start = line.start_at(s)
        load.place(i, wc, machine, people, s, d, start, line.end_at(s + d) if d else start)
