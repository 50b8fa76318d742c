"""Who works at a station: logins and logouts, and each operator's hours in a period."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from edge.stations.catalog import Catalog
from edge.stations.errors import Refused


@dataclass(frozen=True)
class Stint:
    """One operator logged in at a station from ``start`` until ``end`` (None: still there)."""

    badge: str
    start: datetime
    end: datetime | None = None

    def hours_within(self, start: datetime, end: datetime) -> float:
        """Hours of this stint inside [start, end]; an open stint runs to ``end``."""
        stop = end if self.end is None else min(self.end, end)
        seconds = (stop - max(self.start, start)).total_seconds()
        return max(seconds, 0.0) / 3600


@dataclass(frozen=True)
class Crew:
    """A station's crew; every change returns a new ``Crew``.

    ``work_center`` is that of the station's current operation; while it is None
    (no work order scanned yet) skills are not checked.
    """

    station: str
    work_center: str | None = None
    stints: tuple[Stint, ...] = ()

    @property
    def present(self) -> tuple[str, ...]:
        """Badges logged in now, in login order."""
        return tuple(s.badge for s in self.stints if s.end is None)

    def at_work_center(self, work_center: str | None) -> Crew:
        """The same crew working on an operation of ``work_center``."""
        return replace(self, work_center=work_center)

    def login(self, catalog: Catalog, badge: str, at: datetime) -> Crew:
        """Log ``badge`` in; a second login of someone already here changes nothing."""
        operator = catalog.operator(badge)
        if self.work_center is not None and self.work_center not in operator.skills:
            raise Refused(
                "missing_skill",
                f"{operator.name} ({badge}) is not qualified for work center "
                f"{self.work_center}. Ask your supervisor.",
            )
        if badge in self.present:
            return self
        return replace(self, stints=(*self.stints, Stint(badge, at)))

    def logout(self, badge: str, at: datetime) -> Crew:
        if badge not in self.present:
            raise Refused("not_logged_in", f"Badge {badge} is not logged in at {self.station}.")
        stints = tuple(
            replace(s, end=max(at, s.start)) if s.badge == badge and s.end is None else s
            for s in self.stints
        )
        return replace(self, stints=stints)

    def hours(self, badge: str, start: datetime, end: datetime) -> float:
        """Hours ``badge`` was logged in here within [start, end]."""
        return sum(s.hours_within(start, end) for s in self.stints if s.badge == badge)

    def hours_by_badge(self, start: datetime, end: datetime) -> dict[str, float]:
        """Everyone who was logged in within [start, end], with their hours, in login order."""
        hours: dict[str, float] = {}
        for stint in self.stints:
            if stint.start <= end and (stint.end is None or stint.end >= start):
                hours[stint.badge] = hours.get(stint.badge, 0.0) + stint.hours_within(start, end)
        return hours

    def forget_before(self, moment: datetime) -> Crew:
        """Drop stints that ended before ``moment``; they no longer count for any report."""
        kept = tuple(s for s in self.stints if s.end is None or s.end >= moment)
        return replace(self, stints=kept)
