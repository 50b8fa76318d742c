"""Turn successive raw piece-counter readings into pieces to book.

Rules, for a reading ``value`` at ``timestamp`` after a baseline ``last`` at
``last_timestamp``, with ``allowed = max_rate * elapsed + slack`` pieces:

* first reading: sets the baseline, books 0 (``BASELINE``).
* same value: books 0 (``UNCHANGED``); repeated reads never book twice.
* rise within ``allowed``: books ``value - last`` (``COUNT``).
* drop: if the wrap ``value + 2**bits - last`` is within ``allowed`` it is a
  rollover and books that (``ROLLOVER``, e.g. 65530 -> 4 on 16 bits books 10);
  otherwise the PLC restarted its counter from 0, and ``value`` pieces were
  counted since, booked if within ``allowed`` (``RESET``). Pieces counted
  between the last reading and the restart are unknowable and not booked.
* anything else (a rise or a reset count above ``allowed``) books 0
  (``IMPLAUSIBLE``) and the baseline moves to the reading, so a glitch is never
  booked later either; the caller should log it.

Every reading, booked or not, becomes the new baseline. ``elapsed`` is clamped
at 0, so a clock stepping backwards allows only ``slack`` pieces. Poll faster
than the counter can wrap (``2**bits / max_rate`` seconds): at most one wrap per
interval is assumed. Persist ``to_dict()`` in the same transaction as the
pieces booked, so a restart of the edge neither books them twice nor loses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["CounterReading", "CounterReason", "CounterTracker"]


class CounterReason(StrEnum):
    """Why a reading booked what it booked."""

    BASELINE = "baseline"
    UNCHANGED = "unchanged"
    COUNT = "count"
    ROLLOVER = "rollover"
    RESET = "reset"
    IMPLAUSIBLE = "implausible"


@dataclass(frozen=True)
class CounterReading:
    """Pieces to book for one reading, and why."""

    delta: int
    reason: CounterReason


class CounterTracker:
    """Tracks one hardware piece counter; pure, fed readings by its caller."""

    def __init__(self, *, bits: int, max_rate: float, slack: float = 1.0) -> None:
        # slack covers sampling phase: at exactly max_rate a window of t seconds
        # can still see floor(max_rate * t) + 1 pieces.
        if bits not in (16, 32):
            raise ValueError(f"counter bits must be 16 or 32, got {bits!r}")
        if not (math.isfinite(max_rate) and max_rate > 0):
            raise ValueError(f"max_rate must be a positive number of pieces/s, got {max_rate!r}")
        if not (math.isfinite(slack) and slack >= 0):
            raise ValueError(f"slack must be a non-negative number of pieces, got {slack!r}")
        self.bits = bits
        self.max_rate = float(max_rate)
        self.slack = float(slack)
        self.last_value: int | None = None
        self.last_timestamp: float | None = None

    def feed(self, value: int, timestamp: float) -> CounterReading:
        """Take one raw reading; a bad value raises ``ValueError`` and changes nothing."""
        modulus = 2**self.bits
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < modulus:
            raise ValueError(f"counter value {value!r} outside 0..{modulus - 1}")
        if not math.isfinite(timestamp):
            raise ValueError(f"timestamp must be a finite number, got {timestamp!r}")
        last, last_ts = self.last_value, self.last_timestamp
        self.last_value, self.last_timestamp = value, float(timestamp)
        if last is None or last_ts is None:
            return CounterReading(0, CounterReason.BASELINE)
        if value == last:
            return CounterReading(0, CounterReason.UNCHANGED)
        allowed = self.max_rate * max(0.0, timestamp - last_ts) + self.slack
        if value > last:
            delta, reason = value - last, CounterReason.COUNT
        elif value + modulus - last <= allowed:
            delta, reason = value + modulus - last, CounterReason.ROLLOVER
        else:
            delta, reason = value, CounterReason.RESET
        if delta > allowed:
            return CounterReading(0, CounterReason.IMPLAUSIBLE)
        return CounterReading(delta, reason)

    def to_dict(self) -> dict[str, Any]:
        """Configuration and baseline, as JSON-ready data."""
        return {
            "bits": self.bits,
            "max_rate": self.max_rate,
            "slack": self.slack,
            "last_value": self.last_value,
            "last_timestamp": self.last_timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CounterTracker:
        """Restore a tracker saved with ``to_dict``."""
        try:
            tracker = cls(bits=data["bits"], max_rate=data["max_rate"], slack=data["slack"])
            value, timestamp = data["last_value"], data["last_timestamp"]
            if (value is None) != (timestamp is None):
                raise ValueError("needs both last_value and last_timestamp, or neither")
            if value is not None:
                tracker.feed(value, timestamp)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a saved counter state: {exc}") from None
        return tracker
