"""A serial count station on a pseudo-terminal: its running piece counters as lines of text.

Counting is a pure function of time, as on the simulated Modbus machine: ``rate`` good
and ``scrap_rate`` scrap pieces/s since creation, plus the pieces ``count()`` adds, on
counters that roll over at ``2**bits``; ``reset()`` puts them back to 0 as a restarted
station does. Once started, the station sends ``good=<n>;scrap=<n>`` (the default
format of ``protocols.count_message``) every ``interval_s``; ``send()`` sends one now.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from protocols.count_message import format_message
from simulators.ptys import Pty

__all__ = ["CountStation"]


class CountStation:
    """A count station: the edge opens ``device``; ``good`` and ``scrap`` are what it sends."""

    def __init__(
        self,
        *,
        rate: float = 1.0,
        scrap_rate: float = 0.0,
        bits: int = 32,
        interval_s: float = 1.0,
        terminator: bytes = b"\r",
        good_start: int = 0,
        scrap: bool = True,
    ) -> None:
        if bits not in (16, 32):
            raise ValueError(f"counters have 16 or 32 bits, not {bits!r}")
        if not all(math.isfinite(r) and r >= 0 for r in (rate, scrap_rate)):
            raise ValueError("rates must be non-negative pieces/s")
        if not interval_s > 0:
            raise ValueError("interval_s must be positive")
        self.rate, self.scrap_rate, self.bits = rate, scrap_rate, bits
        self.interval_s, self.terminator = interval_s, terminator
        self.with_scrap = scrap
        self.sent = 0
        self._pty = Pty()
        self.device = self._pty.device
        self._since = time.monotonic()
        self._added_good = self._added_scrap = 0
        self._reset_good = self._reset_scrap = 0
        self._good_start = good_start
        self._task: asyncio.Task[None] | None = None

    @property
    def good_made(self) -> int:
        """Good pieces made since creation (the truth a counter reader must book)."""
        return math.floor(self._elapsed() * self.rate) + self._added_good

    @property
    def scrap_made(self) -> int:
        return math.floor(self._elapsed() * self.scrap_rate) + self._added_scrap

    @property
    def good(self) -> int:
        """The good counter as the station shows it: since the last reset, rolled over."""
        return (self._good_start + self.good_made - self._reset_good) % 2**self.bits

    @property
    def scrap(self) -> int:
        return (self.scrap_made - self._reset_scrap) % 2**self.bits

    def count(self, good: int = 1, scrap: int = 0) -> None:
        """Make pieces now, on top of those made at ``rate``."""
        self._added_good += good
        self._added_scrap += scrap

    def reset(self) -> None:
        """Counters back to 0, as after a restart of the station; pieces made stay made."""
        self._reset_good, self._reset_scrap = self.good_made, self.scrap_made
        self._good_start = 0

    def message(self) -> str:
        return format_message(self.good, self.scrap if self.with_scrap else None)

    def send(self) -> str:
        """Send the counters now; returns the message."""
        text = self.message()
        self.send_raw(text)
        return text

    def send_raw(self, text: str | bytes) -> None:
        """Send any line, e.g. a garbled one, followed by the terminator."""
        data = text.encode("latin-1") if isinstance(text, str) else text
        if self._pty.write(data + self.terminator):
            self.sent += 1

    async def start(self) -> None:
        """Send the counters every ``interval_s`` until stopped."""
        if self._task is None:
            self._task = asyncio.create_task(self._send_every_interval())

    async def stop(self) -> None:
        """Stop sending and close the pty: to the edge, the port is gone."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.close()

    def close(self) -> None:
        self._pty.close()

    def _elapsed(self) -> float:
        return time.monotonic() - self._since

    async def _send_every_interval(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            self.send()
            next_at = max(next_at + self.interval_s, loop.time())
            await asyncio.sleep(next_at - loop.time())
