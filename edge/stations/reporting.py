"""Production reporting: good and scrap split across the crew by hours, and when to report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal


@dataclass(frozen=True)
class Share:
    """One operator's part of a report (a ``CrewShare`` of the contract)."""

    operator: str
    good: int
    scrap: int
    labour_hours: float

    def to_payload(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "good": self.good,
            "scrap": self.scrap,
            "labour_hours": self.labour_hours,
        }


@dataclass(frozen=True)
class ReportSplit:
    shares: tuple[Share, ...]
    yield_ratio: float | None  # good / (good + scrap); None when nothing was made


def _largest_remainder(total: int, weights: list[Fraction]) -> list[int]:
    """``total`` in whole pieces, in proportion to ``weights``, summing exactly to ``total``."""
    whole = sum(weights)
    quotas = [total * w / whole for w in weights]
    pieces = [int(q) for q in quotas]  # quotas are >= 0, so int() is floor
    # ties go to whoever comes first (login order), so the same input splits the same way
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - pieces[i]), i))
    for i in by_remainder[: total - sum(pieces)]:
        pieces[i] += 1
    return pieces


def split_report(good: int, scrap: int, crew_hours: Mapping[str, float]) -> ReportSplit:
    """Split ``good`` and ``scrap`` across the crew in proportion to hours (largest remainder).

    A crew with no hours at all shares equally; an empty crew gets no shares.
    """
    if good < 0 or scrap < 0:
        raise ValueError("good and scrap must not be negative")
    if any(h < 0 for h in crew_hours.values()):
        raise ValueError("hours must not be negative")
    made = good + scrap
    yield_ratio = good / made if made else None
    if not crew_hours:
        return ReportSplit((), yield_ratio)
    weights = [Fraction(h) for h in crew_hours.values()]
    if not any(weights):
        weights = [Fraction(1)] * len(weights)
    goods = _largest_remainder(good, weights)
    scraps = _largest_remainder(scrap, weights)
    shares = tuple(
        Share(badge, g, s, round(hours, 4))
        for badge, hours, g, s in zip(crew_hours, crew_hours.values(), goods, scraps, strict=True)
    )
    return ReportSplit(shares, yield_ratio)


@dataclass(frozen=True)
class ReportPolicy:
    """A report is due every ``every_pieces`` pieces or every ``every_seconds``, whichever first.

    A time-due report needs at least one unreported piece: an idle station sends nothing.
    None switches a trigger off; with both off, reports are made only on request.
    """

    every_pieces: int | None = None
    every_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.every_pieces is not None and self.every_pieces < 1:
            raise ValueError("every_pieces must be at least 1")
        if self.every_seconds is not None and self.every_seconds <= 0:
            raise ValueError("every_seconds must be more than 0")

    def due(self, unreported_pieces: int, last_report_at: datetime, now: datetime) -> bool:
        """Whether a report of the ``unreported_pieces`` (good + scrap) is due ``now``."""
        if unreported_pieces <= 0:
            return False
        if self.every_pieces is not None and unreported_pieces >= self.every_pieces:
            return True
        return (
            self.every_seconds is not None
            and (now - last_report_at).total_seconds() >= self.every_seconds
        )


def build_report(
    work_order: str,
    operation: str,
    good: int,
    scrap: int,
    period_start: datetime,
    period_end: datetime,
    crew_hours: Mapping[str, float],
    *,
    rework: int = 0,
    source: Literal["counter", "terminal"] = "terminal",
    operation_end: bool = False,
) -> dict[str, Any]:
    """The ``production_report`` payload for a period, with the crew's shares."""
    if period_end < period_start:
        raise ValueError("period_end is before period_start")
    split = split_report(good, scrap, crew_hours)
    return {
        "work_order": work_order,
        "operation": operation,
        "good": good,
        "scrap": scrap,
        "rework": rework,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "labour_hours": round(sum(crew_hours.values()), 4),
        "crew": [share.to_payload() for share in split.shares],
        "source": source,
        "operation_end": operation_end,
    }
