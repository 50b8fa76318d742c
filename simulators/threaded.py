"""Run an asyncio simulator (anything with async ``start`` / ``stop``) on a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class SimThread:
    """A simulator on an asyncio loop of its own thread, for synchronous callers."""

    def __init__(self, machine: Any) -> None:
        self.machine = machine
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.call(self.machine.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
