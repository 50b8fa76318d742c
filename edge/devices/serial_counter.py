"""A serial count station as a coordinator: each line it sends carries its running counters.

The station talks, the edge listens: a ``LineReader`` thread reads the port (reopening
it with back-off when it goes away) and hands each chunk to the device loop, where the
lines are parsed with the configured pattern (``protocols.count_message``). A message
becomes one ``good`` reading per counter in it. A line that does not match gives no
reading and counts as an error, logged once per run of them, but leaves the device
connected (a garbled line must not take the station's machine offline). A port that
fails, or no message for ``stale_after_s`` while it is open, is a device error, logged
when it starts and when a good message clears it, as for every coordinator.

Messages read together are handed on as the newest value of each counter, stamped
with the time they were read: the counters are running totals, so the newest value
books every piece, and earlier ones stamped with the same time would look like jumps
faster than the station can make pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edge.devices.base import Coordinator, DeviceError, Reading, Sink, now_utc
from edge.devices.serial_line import LineReader, SerialLine
from protocols.count_message import DEFAULT_PATTERN, MessageError, compile_pattern, parse

__all__ = ["SerialCounterCoordinator"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class SerialCounterCoordinator(Coordinator):
    """One count station on a serial line; its tags are the pattern's named groups."""

    line: SerialLine
    pattern: re.Pattern[str] = field(default_factory=lambda: compile_pattern(DEFAULT_PATTERN))
    stale_after_s: float = 10.0
    _reader: LineReader | None = field(default=None, init=False, repr=False)
    _pending: dict[str, Reading] = field(default_factory=dict, init=False, repr=False)
    _wakeup: asyncio.Event | None = field(default=None, init=False, repr=False)
    _port_open: bool = field(default=False, init=False, repr=False)
    _heard_at: float = field(default=0.0, init=False, repr=False)  # loop time
    _stale: bool = field(default=False, init=False, repr=False)
    _garbled: bool = field(default=False, init=False, repr=False)  # in a run of bad lines

    def __post_init__(self) -> None:
        if not self.pattern.groupindex:
            raise ValueError(f"device {self.name!r}: the pattern names no counter")
        if self.stale_after_s <= 0:
            raise ValueError(f"device {self.name!r}: stale_after_s must be positive")

    async def connect(self) -> None:
        """Start reading the port on a thread of its own; it (re)opens the port itself."""
        if self._reader is not None:
            return
        loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()  # set by every callback: readings, port opened or lost
        self._heard_at = loop.time()

        def hand_over(callback: Callable[..., None], *args: Any) -> None:
            # the loop is closed only after close() has joined this thread; be safe anyway
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)

        self._reader = LineReader(
            f"counter-{self.name}",
            self.line,
            on_lines=lambda lines: hand_over(self._received, lines, now_utc()),
            on_error=lambda error: hand_over(self._port_failed, error),
            on_open=lambda: hand_over(self._port_opened),
            backoff_initial_s=self.backoff_initial_s,
            backoff_max_s=self.backoff_max_s,
        )
        self._reader.start()

    async def poll(self) -> list[Reading]:
        """The readings received since the last poll: the newest value of each counter."""
        if self._reader is None:
            raise DeviceError(f"not reading {self.line.port}")
        readings, self._pending = list(self._pending.values()), {}
        return readings

    async def close(self) -> None:
        """Stop reading and close the port."""
        reader, self._reader = self._reader, None
        if reader is not None:
            await asyncio.to_thread(reader.stop)
        self._port_open = False

    async def run(self, sink: Sink) -> None:
        """Hand on readings as messages arrive, until cancelled; watch for silence."""
        loop = asyncio.get_running_loop()
        try:
            await self.connect()
            assert self._wakeup is not None
            while True:
                wait = self.stale_after_s
                if self._port_open and not self._stale:
                    wait = self._heard_at + self.stale_after_s - loop.time()
                    if wait <= 0:
                        self._stale = True
                        self._failed(
                            f"no message from {self.line.port} for {self.stale_after_s:g} s"
                        )
                        wait = self.stale_after_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), wait)
                self._wakeup.clear()
                readings = await self.poll()
                if readings:
                    sink(readings)
        finally:
            await self._close_quietly()

    def _received(self, lines: list[str], at: datetime) -> None:
        for text in lines:
            try:
                values = parse(self.pattern, text)
            except MessageError as exc:
                # counted and logged once per run of them, but the port works: a garbled
                # line must not take the station's machine offline
                self.health.error_count += 1
                if not self._garbled:
                    self._garbled = True
                    log.warning(
                        "unreadable count message", extra={"device": self.name, "error": str(exc)}
                    )
                continue
            if self._garbled:
                self._garbled = False
                log.info("count messages readable again", extra={"device": self.name})
            self._heard_at = asyncio.get_running_loop().time()
            self._stale = False
            self._recovered()
            for tag, value in values.items():
                self._pending[tag] = Reading(self.name, tag, value, "good", at)
        self._wake()

    def _port_opened(self) -> None:
        # the station gets a full stale_after_s to speak on a port just opened
        self._port_open = True
        self._heard_at = asyncio.get_running_loop().time()
        self._stale = False
        self._wake()

    def _port_failed(self, error: str) -> None:
        self._port_open = False
        self._failed(error)
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
