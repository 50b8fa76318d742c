"""Failed sign-ins counted per key (a client address, a badge, a token prefix) in a
sliding window; shared by central's and the edge's sign-in."""

from __future__ import annotations

import math
import threading
from collections import deque

from fastapi.responses import JSONResponse

from protocols.api import error_body

MAX_KEYS = 10_000  # counters kept; beyond, those with nothing in the window go first


class SignInLimiter:
    """At most ``attempts`` failures per key in any ``window_s`` seconds."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.RLock()  # sign-ins run on the thread pool

    def retry_after(self, keys: list[str], now: float) -> float | None:
        """Seconds until one of ``keys`` may try again, or None when all may now."""
        waits = []
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.attempts:
                    waits.append(failures[0] + self.window_s - now)
        return max(waits) if waits else None

    def begin(self, keys: list[str], now: float) -> float | None:
        """An attempt counted as a failure from its start (``forgive`` it on success), so
        attempts sent in parallel cannot outrun the count; the wait when over the limit."""
        with self._lock:
            wait = self.retry_after(keys, now)
            if wait is None:
                self.failed(keys, now)
            return wait

    def forgive(self, keys: list[str]) -> None:
        """The attempt ``begin`` counted succeeded: take it back."""
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures:
                    failures.pop()

    def failed(self, keys: list[str], now: float) -> None:
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                for key in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[key]
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures


def too_many_attempts(wait: float) -> JSONResponse:
    """The 429 answer, with Retry-After in whole seconds."""
    seconds = max(1, math.ceil(wait))
    return JSONResponse(
        error_body("too_many_attempts", f"too many failed sign-ins; try again in {seconds} s"),
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )
