"""A simulated station terminal: a crew logs in, then production reports and machine states flow.

It talks to the edge exactly as a station terminal does, over the edge's HTTP API.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

log = logging.getLogger(__name__)


class StationSimulator:
    def __init__(
        self,
        edge_url: str,
        station: str = "ST-10",
        *,
        work_order: str = "WO-2026-000123",
        operation: str = "10",
        rate: float = 2.0,
        seed: int | None = None,
    ) -> None:
        self.edge_url = edge_url.rstrip("/")
        self.station, self.work_order, self.operation = station, work_order, operation
        self.rate = rate
        self.random = random.Random(seed)
        self.crew = ["EMP-0042", "EMP-0043"]
        self.recorded = 0
        self.refused = 0
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _post(self, client: httpx.Client, kind: str, payload: dict[str, Any]) -> bool:
        body = {"kind": kind, "station": self.station, "payload": payload}
        try:
            response = client.post(f"{self.edge_url}/api/v1/events", json=body)
        except httpx.HTTPError as exc:
            log.warning("edge unreachable", extra={"error": str(exc)})
            return False
        if response.status_code == 201:
            self.recorded += 1
            return True
        self.refused += 1
        log.warning(
            "edge refused event",
            extra={"status": response.status_code, "body": response.text[:300]},
        )
        return False

    def report(self, period_start: datetime, period_end: datetime) -> dict[str, Any]:
        good = [self.random.randint(3, 12) for _ in self.crew]
        scrap = [self.random.choice((0, 0, 0, 1)) for _ in self.crew]
        hours = (period_end - period_start).total_seconds() / 3600
        return {
            "work_order": self.work_order,
            "operation": self.operation,
            "good": sum(good),
            "scrap": sum(scrap),
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "labour_hours": round(hours * len(self.crew), 6),
            "crew": [
                {"operator": op, "good": g, "scrap": s, "labour_hours": round(hours, 6)}
                for op, g, s in zip(self.crew, good, scrap, strict=True)
            ],
            "source": "counter",
        }

    def run(self, count: int | None = None) -> None:
        """Post events until stopped (or ``count`` production reports are recorded)."""
        with httpx.Client(timeout=10.0) as client:
            for operator in self.crew:
                self._post(client, "operator_login", {"operator": operator})
            self._post(
                client,
                "machine_state",
                {
                    "machine": f"M-{self.station}",
                    "state": "running",
                    "since": datetime.now(UTC).isoformat(),
                },
            )
            last = datetime.now(UTC)
            reports = 0
            while not self._stop.wait(1.0 / self.rate):
                now = max(datetime.now(UTC), last + timedelta(microseconds=1))
                if self._post(client, "production_report", self.report(last, now)):
                    reports += 1
                last = now
                if count is not None and reports >= count:
                    break
            log.info("station stopped", extra={"recorded": self.recorded, "refused": self.refused})
