"""What the engine schedules and what it returns: frozen plain data.

Times given must be aware datetimes (any zone); times returned are in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from central.scheduling.calendars import Calendar

Direction = Literal["forward", "backward"]
Strategy = Literal["fastest", "minimum"]
Objective = Literal["makespan", "tardiness"]


@dataclass(frozen=True)
class WorkCenter:
    """Identical machines side by side, worked by a crew on one calendar."""

    code: str
    calendar: Calendar = field(default_factory=Calendar.always_open)
    machines: int = 1
    crew: int | None = None  # people at work at once; None: as many as the operations need


@dataclass(frozen=True)
class Operation:
    """One step of an order's routing, at one of its alternative work centers."""

    id: str  # unique in the problem, e.g. "WO-7/20"
    work_centers: tuple[str, ...]  # alternatives, the first preferred
    setup_minutes: float = 0.0
    run_minutes_per_unit: float = 0.0  # with crew_size people
    quantity: float = 1.0
    crew_size: int = 1
    max_crew: int | None = None  # more people shorten the run time in proportion
    predecessors: tuple[str, ...] = ()  # operations of the same order that finish first
    not_before: datetime | None = None  # a planner's pin: it starts no earlier than this


@dataclass(frozen=True)
class Material:
    """A component the order cannot start without, and when it is there."""

    item: str
    available: datetime


@dataclass(frozen=True)
class Order:
    """A production order: its routing, when it may start and when it is due."""

    id: str
    operations: tuple[Operation, ...]
    due: datetime | None = None
    release: datetime | None = None
    priority: int = 0  # higher goes first
    materials: tuple[Material, ...] = ()


@dataclass(frozen=True)
class Problem:
    """Orders to schedule on work centers, nothing before ``now``."""

    orders: tuple[Order, ...]
    work_centers: tuple[WorkCenter, ...]
    now: datetime


@dataclass(frozen=True)
class Scheduled:
    """Where and when one operation runs."""

    operation: str
    order: str
    work_center: str
    machine: int  # which of the work center's identical machines, from 0
    crew: int  # people on it
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OrderOutcome:
    """When an order finishes, and if late, what made it late."""

    order: str
    start: datetime
    finish: datetime
    due: datetime | None
    late: bool
    lateness_minutes: int  # finish - due; 0 when on time
    reason: str | None  # e.g. "work center CNC busy", "material BODY-50 available 2026-11-25"
    direction: Direction  # how it was planned: backward falls back to forward


@dataclass(frozen=True)
class Kpis:
    """Figures of a whole schedule."""

    makespan_minutes: int  # from now to the last end
    total_tardiness_minutes: int
    late_orders: int
    work_centers_used: int
    machines_used: int
    peak_crew: int  # the most people at work at once, summed over work centers
    utilisation: dict[str, float]  # busy / open machine time up to the last end, per work center


@dataclass(frozen=True)
class Schedule:
    """A proposed plan: every operation placed, every order's outcome, the figures."""

    operations: tuple[Scheduled, ...]
    orders: tuple[OrderOutcome, ...]
    kpis: Kpis
    direction: Direction
    strategy: Strategy | Literal["optimised"]


@dataclass(frozen=True)
class Optimised:
    """The solver's best schedule within its time limit, and how far from optimal it may be."""

    schedule: Schedule
    objective: Objective
    value: int  # working minutes: the makespan, or the summed tardiness of the orders
    bound: int  # no schedule does better than this
    status: str  # "OPTIMAL", "FEASIBLE", or "UNKNOWN" (the hint returned unimproved)
    seconds: float
