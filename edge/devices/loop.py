"""The edge's device loop: every coordinator as a task on one asyncio loop of its own thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from edge.devices.base import Coordinator, Sink

log = logging.getLogger(__name__)


class DeviceLoop:
    """Runs coordinators until stopped; ``on_down(device, error)`` when one loses its device."""

    def __init__(
        self,
        coordinators: Sequence[Coordinator],
        sink: Sink,
        on_down: Callable[[str, str], None] | None = None,
    ) -> None:
        self.coordinators = list(coordinators)
        self.sink = sink
        self.on_down = on_down
        # The loop is made in its thread: a node with no devices never has one to close.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="devices", daemon=True)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self.coordinators:
            self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._ready.wait(5)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: [t.cancel() for t in self._tasks])
        self._thread.join(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        count = len(self.coordinators)
        for index, coordinator in enumerate(self.coordinators):
            # Spread first polls over the interval, so devices do not all poll at once.
            delay = coordinator.interval_s * index / count
            self._tasks.append(asyncio.create_task(self._start(coordinator, delay)))
        self._tasks.append(asyncio.create_task(self._watch()))
        # Only now may stop() cancel: every task exists (nothing above awaited).
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _start(self, coordinator: Coordinator, delay: float) -> None:
        await asyncio.sleep(delay)
        await coordinator.run(self.sink)

    async def _watch(self) -> None:
        """Tell the line when a device goes down, once per outage."""
        down: set[str] = set()
        while True:
            for c in self.coordinators:
                error = c.health.current_error
                if error and c.name not in down:
                    down.add(c.name)
                    if self.on_down:
                        self.on_down(c.name, error)
                elif not error and c.health.connected:
                    down.discard(c.name)
            await asyncio.sleep(0.2)
