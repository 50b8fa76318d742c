"""The scheduling engine: plain data in, plain data out; no web, no database.

    schedule(problem, direction=, strategy=)    the heuristic, forward or backward
    optimise(problem, objective=, time_limit=)  CP-SAT, started from the heuristic
    diff(current, proposed)                     what-if: what a proposal would change
    jobshop.load(path), synthetic.problem()     benchmark instances, a generated plant

Inside: model (the plain data), calendars (shifts, holidays, working-time axis),
compiled (a problem as indexes and minutes), resources (machines and crews while
placing), placement (list scheduling forward and backward), tabu (its improvement),
outcome (order outcomes, lateness reasons, figures).

Times in are aware datetimes, times out are UTC; the engine works in whole minutes.
"""

from central.scheduling.calendars import Calendar, Shift
from central.scheduling.diff import FinishChange, Move, ScheduleDiff, diff
from central.scheduling.errors import SchedulingError
from central.scheduling.heuristic import schedule
from central.scheduling.model import (
    Direction,
    Kpis,
    Material,
    Objective,
    Operation,
    Optimised,
    Order,
    OrderOutcome,
    Problem,
    Schedule,
    Scheduled,
    Strategy,
    WorkCenter,
)
from central.scheduling.optimise import optimise

__all__ = [
    "Calendar",
    "Direction",
    "FinishChange",
    "Kpis",
    "Material",
    "Move",
    "Objective",
    "Operation",
    "Optimised",
    "Order",
    "OrderOutcome",
    "Problem",
    "Schedule",
    "ScheduleDiff",
    "Scheduled",
    "SchedulingError",
    "Shift",
    "Strategy",
    "WorkCenter",
    "diff",
    "optimise",
    "schedule",
]
