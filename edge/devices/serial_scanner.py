"""A serial barcode scanner: lines from a serial port (pyserial) become scans at a station.

The port may be a device path (``/dev/ttyUSB0``) or any pyserial URL. If it goes away
(unplugged, pty closed) the scanner reopens it with back-off (``serial_line``) and says
so once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from edge.devices.base import DeviceHealth
from edge.devices.serial_line import LineReader, SerialLine
from protocols.serial_lines import Terminator

log = logging.getLogger(__name__)

PARITIES: dict[str, Literal["N", "E", "O"]] = {"none": "N", "even": "E", "odd": "O"}


@dataclass
class SerialScannerSettings:
    name: str
    port: str
    station: str
    baudrate: int = 9600
    parity: Literal["none", "even", "odd"] = "none"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    terminator: Terminator = "CR"
    encoding: str = "latin-1"  # scanners send bytes; GS (0x1D) and friends must survive


@dataclass
class SerialScanner:
    """Reads one scanner on its own thread; ``on_scan(station, device, text)`` per scan."""

    settings: SerialScannerSettings
    on_scan: Callable[[str, str, str], None]
    health: DeviceHealth = field(default_factory=DeviceHealth)

    def __post_init__(self) -> None:
        s = self.settings
        line = SerialLine(
            s.port, s.baudrate, PARITIES[s.parity], s.bytesize, s.stopbits, s.terminator, s.encoding
        )
        self._reader = LineReader(
            f"scanner-{s.name}",
            line,
            on_lines=self._on_lines,
            on_error=self._failed,
            on_open=self._recovered,
        )

    def start(self) -> None:
        self._reader.start()

    def stop(self) -> None:
        self._reader.stop()

    def _on_lines(self, lines: list[str]) -> None:
        for text in lines:
            self.health.ok()
            self.on_scan(self.settings.station, self.settings.name, text)

    def _failed(self, error: str) -> None:
        if self.health.current_error is None:
            log.error("scanner error", extra={"device": self.settings.name, "error": error})
        self.health.failed(error)

    def _recovered(self) -> None:
        if self.health.current_error is not None:
            log.info("scanner recovered", extra={"device": self.settings.name})
        self.health.connected = True
        self.health.current_error = None
        self.health.error_since = None
