"""Tells web pages that something changed: any thread bumps a topic, async streams wait on it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse


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


HEARTBEAT_S = 10.0  # a page that hears nothing for 20 s takes the link for dead


def event_stream(
    request: Request,
    changes: Changes,
    topic: str,
    event: str,
    build: Callable[[], dict[str, Any] | None],
    *,
    refresh_s: float | None = None,
    min_gap_s: float = 0.0,
    alive: Callable[[], bool] | None = None,
) -> StreamingResponse:
    """Server-sent events: ``build()`` at once, on every change of ``topic`` and every
    ``refresh_s``; a ``ping`` when nothing changed for ``HEARTBEAT_S``.

    ``build`` runs in the thread pool: it may wait on locks or read a database. When it
    returns None the stream ends (say, the link it serves was revoked), and so it does
    once ``alive()`` is False (the sign-in it was opened with ended).
    """

    async def events() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        seen, sent_at = -1, 0.0
        while not await request.is_disconnected():
            if alive is not None and not alive():
                return
            version = changes.version(topic)
            if version != seen or (refresh_s and loop.time() - sent_at >= refresh_s):
                seen, sent_at = version, loop.time()
                data = await run_in_threadpool(build)
                if data is None:  # what the stream follows is gone: end it
                    return
                yield b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
                if min_gap_s:
                    await asyncio.sleep(min_gap_s)
            else:
                yield b"event: ping\ndata: {}\n\n"
            await changes.wait(topic, seen, refresh_s or HEARTBEAT_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
