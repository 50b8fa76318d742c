"""What every device coordinator is: readings out, health visible, errors at one boundary.

A coordinator owns one device (a Modbus slave, an OPC UA server, a scanner). It runs
as one asyncio task in the edge's device loop, with its own interval, timeout and
back-off, so a dead device never delays another. Protocol errors are turned into
``DeviceError`` at the coordinator's boundary; the loop logs when an error starts and
when it clears, never on every poll.

    Exception
     └── DeviceError         the device could not be read (timeout, refused, bad reply)

Configuration problems are found at start-up, never here.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

log = logging.getLogger(__name__)

Quality = Literal["good", "bad", "uncertain"]
Value = int | float | bool | str


class DeviceError(Exception):
    """A device could not be read; the message says why, for the status page."""


@dataclass(frozen=True)
class Reading:
    """One tag's value as the device reported it."""

    device: str
    tag: str
    value: Value | None
    quality: Quality
    source_ts: datetime  # the device's clock where it has one, else the edge's at read time


@dataclass
class DeviceHealth:
    """What the status API and metrics show per device."""

    connected: bool = False
    last_good_read: float | None = None  # wall time
    reads: int = 0
    error_count: int = 0
    current_error: str | None = None
    error_since: float | None = None

    def ok(self) -> None:
        self.connected = True
        self.reads += 1
        self.last_good_read = time.time()
        self.current_error = None
        self.error_since = None

    def failed(self, error: str) -> None:
        self.connected = False
        self.error_count += 1
        if self.current_error is None:
            self.error_since = time.time()
        self.current_error = error


Sink = Callable[[list[Reading]], None]


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class Coordinator(abc.ABC):
    """Base of every device coordinator; subclasses implement ``connect`` / ``poll`` / ``close``.

    ``run`` polls every ``interval_s``; a coordinator that is fed by subscription
    (OPC UA) overrides ``run`` and still reports through ``sink`` and ``health``.
    """

    name: str
    interval_s: float = 1.0
    timeout_s: float = 1.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    health: DeviceHealth = field(default_factory=DeviceHealth)

    @property
    def poll_timeout_s(self) -> float:
        """How long one whole poll may take; a device that reads in several requests,
        with retries, raises it."""
        return self.timeout_s

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def poll(self) -> list[Reading]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    def _failed(self, error: str) -> None:
        if self.health.current_error is None:
            log.error("device error", extra={"device": self.name, "error": error})
        self.health.failed(error)

    def _recovered(self) -> None:
        if self.health.current_error is not None:
            log.info(
                "device recovered",
                extra={"device": self.name, "after_errors": self.health.error_count},
            )
        self.health.ok()

    async def run(self, sink: Sink) -> None:
        """Poll on a fixed schedule until cancelled; reconnect with back-off after errors."""
        delay = self.backoff_initial_s
        connected = False
        next_at = asyncio.get_running_loop().time()
        try:
            while True:
                try:
                    if not connected:
                        await asyncio.wait_for(self.connect(), self.timeout_s)
                        connected = True
                    readings = await asyncio.wait_for(self.poll(), self.poll_timeout_s)
                except (DeviceError, TimeoutError, OSError) as exc:
                    self._failed(str(exc) or type(exc).__name__)
                    if connected:
                        await self._close_quietly()
                        connected = False
                    await asyncio.sleep(delay)
                    delay = min(self.backoff_max_s, delay * 2)
                    next_at = asyncio.get_running_loop().time()
                    continue
                delay = self.backoff_initial_s
                self._recovered()
                if readings:
                    sink(readings)
                # A fixed schedule, not a fixed pause: a slow read does not drift the polls.
                next_at += self.interval_s
                now = asyncio.get_running_loop().time()
                if next_at < now:
                    next_at = now
                await asyncio.sleep(next_at - now)
        finally:
            await self._close_quietly()

    async def _close_quietly(self) -> None:
        try:
            await self.close()
        except Exception:  # closing a broken connection may fail; nothing to do about it
            log.debug("close failed", extra={"device": self.name}, exc_info=True)
