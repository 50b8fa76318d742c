"""Ingest lag per edge: how long after it happened each event was applied at central.

A histogram of its own, kept as plain counts (one ``bisect`` per event), because it
is fed from the ingest loop at thousands of events a second; the metrics view turns
it into Prometheus' histogram.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

# seconds; the last bucket (+Inf) takes the rest
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


@dataclass
class EdgeLag:
    """One edge's lags: counts per bucket (not cumulative), their sum, the newest."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    last_s: float = 0.0
    last_applied_at: float = 0.0


class IngestLag:
    """Events' lag (``applied`` minus the event's ``ts``), per edge."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edges: dict[str, EdgeLag] = {}

    def observe(self, edge_id: str, stamps: Iterable[datetime], now: float | None = None) -> None:
        """Count the events with these ``ts``, applied at ``now`` (wall time)."""
        now = time.time() if now is None else now
        with self._lock:
            lag = self._edges.get(edge_id)
            for stamp in stamps:
                if lag is None:
                    lag = self._edges[edge_id] = EdgeLag()
                seconds = max(0.0, now - stamp.timestamp())
                lag.counts[bisect_left(BUCKETS, seconds)] += 1
                lag.total += seconds
                lag.last_s = seconds
                lag.last_applied_at = now

    def snapshot(self) -> dict[str, EdgeLag]:
        with self._lock:
            return {
                edge_id: EdgeLag(list(lag.counts), lag.total, lag.last_s, lag.last_applied_at)
                for edge_id, lag in self._edges.items()
            }
