"""A serial barcode scanner: lines from a serial port (pyserial) become scans at a station.

The port may be a device path (``/dev/ttyUSB0``) or any pyserial URL. If it goes away
(unplugged, pty closed) the scanner reopens it with back-off and says so once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import serial

from edge.devices.base import DeviceHealth

log = logging.getLogger(__name__)

TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
PARITIES = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD}


@dataclass
class SerialScannerSettings:
    name: str
    port: str
    station: str
    baudrate: int = 9600
    parity: Literal["none", "even", "odd"] = "none"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    terminator: Literal["CR", "LF", "CRLF"] = "CR"
    encoding: str = "latin-1"  # scanners send bytes; GS (0x1D) and friends must survive


@dataclass
class SerialScanner:
    """Reads one scanner on its own thread; ``on_scan(station, device, text)`` per scan."""

    settings: SerialScannerSettings
    on_scan: Callable[[str, str, str], None]
    health: DeviceHealth = field(default_factory=DeviceHealth)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"scanner-{self.settings.name}", daemon=True
        )
        self._port: serial.Serial | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _open(self) -> serial.Serial:
        s = self.settings
        return serial.serial_for_url(
            s.port,
            baudrate=s.baudrate,
            parity=PARITIES[s.parity],
            bytesize=s.bytesize,
            stopbits=s.stopbits,
            timeout=0.2,
        )

    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError) as exc:
                self._failed(f"cannot open {self.settings.port}: {exc}")
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.2
            self._recovered()
            try:
                self._read(port)
            except (serial.SerialException, OSError) as exc:
                self._failed(f"{self.settings.port} went away: {exc}")
            finally:
                port.close()

    def _read(self, port: serial.Serial) -> None:
        terminator = TERMINATORS[self.settings.terminator]
        buffer = b""
        while not self._stop.is_set():
            chunk = port.read(max(1, port.in_waiting))
            if not chunk:
                continue
            buffer += chunk
            *lines, buffer = buffer.split(terminator)
            for line in lines:
                text = line.decode(self.settings.encoding).strip("\r\n")
                if text:
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
