"""What a scan means (``Scan``) and why one is rejected (``ScanError``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

GS1_KIND = "gs1"


class ScanError(ValueError):
    """A scan that cannot be accepted; ``reason`` is meant for the worker at the station."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Scan:
    """An accepted scan: GS1 data (``kind == "gs1"``) or an internal code (``value``)."""

    raw: str
    symbology: str | None
    kind: str
    gtin: str | None = None
    batch: str | None = None
    serial: str | None = None
    expiry: dt.date | None = None
    count: int | None = None
    net_weight_kg: float | None = None
    value: str | None = None
    ais: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict; every key is always present, dates are ISO strings."""
        return {
            "raw": self.raw,
            "symbology": self.symbology,
            "kind": self.kind,
            "gtin": self.gtin,
            "batch": self.batch,
            "serial": self.serial,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "count": self.count,
            "net_weight_kg": self.net_weight_kg,
            "value": self.value,
            "ais": dict(self.ais),
        }
