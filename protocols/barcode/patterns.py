"""Internal codes (work order, operator badge, station, defect code) recognised by regex."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from protocols.barcode.scan import GS1_KIND


@dataclass(frozen=True)
class InternalPattern:
    """An internal code ``kind`` whose scans match ``regex`` in full."""

    kind: str
    regex: str

    def __post_init__(self) -> None:
        if not self.kind or self.kind == GS1_KIND:
            raise ValueError(f"internal pattern kind {self.kind!r} is not allowed")
        try:
            re.compile(self.regex)
        except re.error as exc:
            raise ValueError(f"pattern for {self.kind} is not a valid regex: {exc}") from exc

    def matches(self, data: str) -> bool:
        """Whether ``data`` is a code of this kind."""
        return re.fullmatch(self.regex, data) is not None


DEFAULT_PATTERNS: tuple[InternalPattern, ...] = (
    InternalPattern("work_order", r"WO-\d{4}-\d{6}"),
    InternalPattern("operator_badge", r"EMP-\d{4}"),
    InternalPattern("station", r"ST-[A-Z0-9-]+"),
    InternalPattern("defect_code", r"DEF-[A-Z0-9]+"),
)


def match_internal(data: str, patterns: Sequence[InternalPattern]) -> InternalPattern | None:
    """Return the first pattern that ``data`` matches in full, if any."""
    return next((pattern for pattern in patterns if pattern.matches(data)), None)


def describe_kinds(patterns: Sequence[InternalPattern]) -> str:
    """Name the kinds for a worker, e.g. ``work order, operator badge or station``."""
    names = list(dict.fromkeys(pattern.kind.replace("_", " ") for pattern in patterns))
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} or {names[-1]}"
