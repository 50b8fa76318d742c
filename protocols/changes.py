"""Tells web pages that something changed: any thread bumps a topic, async streams wait on it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict


class Changes:
    """A version number per topic (a station, or ``line``) and the streams waiting on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, int] = defaultdict(int)
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = (
            defaultdict(set)
        )

    def bump(self, *topics: str) -> None:
        """Something under ``topics`` changed; safe from any thread."""
        with self._lock:
            woken: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
            for topic in topics:
                self._versions[topic] += 1
                woken.extend(self._waiters.get(topic, ()))
        for loop, event in woken:
            # a closed loop's stream is gone: nobody is waiting there any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def version(self, topic: str) -> int:
        with self._lock:
            return self._versions[topic]

    async def wait(self, topic: str, seen: int, timeout: float) -> int:
        """The topic's version once it differs from ``seen``, or after ``timeout`` anyway."""
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            if self._versions[topic] != seen:
                return self._versions[topic]
            self._waiters[topic].add(waiter)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters[topic].discard(waiter)
        return self.version(topic)
