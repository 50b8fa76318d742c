"""Predicted finishes follow the floor: recomputed soon after events arrive.

Each production event the ingest applies may change when an order will finish (a
slow operation, scrap to remake, an operation finished early). The replanner wakes
after such a batch (and every ``SWEEP_S`` anyway, as time itself moves predictions),
schedules the remaining work forward from now at the pace the floor reports, stores
each open order's predicted finish and tells the planner's page which changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from central.db import reading, writing
from central.orders import planning
from protocols.changes import Changes

log = logging.getLogger(__name__)

SWEEP_S = 60.0
SETTLE_S = 0.2  # a burst of batches is one replan, not one per batch
MIN_GAP_S = 1.0  # under a steady stream of events, replan at most this often
# Beyond this many open operations a replan takes seconds of CPU that ingest needs more:
# predictions stop (logged once) until the order book is smaller again.
MAX_OPERATIONS = 20_000


class Replanner:
    def __init__(
        self, engine: Engine, changes: Changes, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine, self.changes, self.clock = engine, changes, clock
        self.runs = 0
        self.last_seconds = 0.0
        self.too_big = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="central-replan", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def floor_changed(self) -> None:
        """Events that move the order book were applied: predict again soon."""
        self._wake.set()

    def replan(self) -> list[str]:
        """Predict every open order's finish now; returns the orders whose finish moved."""
        started = time.perf_counter()
        now = datetime.fromtimestamp(self.clock(), UTC)
        with reading(self.engine).connect() as conn:
            size = planning.open_operations(conn)
            if size > MAX_OPERATIONS:
                if not self.too_big:
                    log.warning(
                        "order book too big to predict finishes after every event",
                        extra={"open_operations": size, "limit": MAX_OPERATIONS},
                    )
                self.too_big = True
                return []
            self.too_big = False
            finishes = planning.predict(conn, now)
        with writing(self.engine).begin() as conn:
            changed = planning.save_predictions(conn, finishes)
        self.runs += 1
        self.last_seconds = time.perf_counter() - started
        if changed:
            self.changes.bump("planning")
            log.info(
                "predicted finishes moved",
                extra={"orders": len(changed), "seconds": round(self.last_seconds, 3)},
            )
        return changed

    def _run(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            self._wake.wait(SWEEP_S)
            if self._stop.is_set():
                return
            self._stop.wait(max(SETTLE_S, last + MIN_GAP_S - time.monotonic()))
            self._wake.clear()
            last = time.monotonic()
            try:
                self.replan()
            except Exception:
                log.exception("replanning failed; trying again at the next event")
