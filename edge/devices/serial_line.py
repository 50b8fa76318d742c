"""Lines of text from a serial port (pyserial), read on a thread of their own.

Shared by the barcode scanner and the count station. The port may be a device path
(``/dev/ttyUSB0``) or any pyserial URL. If it cannot be opened or goes away (unplugged,
pty closed) it is opened again with back-off; the owner hears of each failure and
decides what to log.
"""

from __future__ import annotations

import termios
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import serial

from protocols.serial_lines import TERMINATORS, Terminator

__all__ = ["TERMINATORS", "LineReader", "SerialLine"]


@dataclass(frozen=True)
class SerialLine:
    """A serial port and how its line is set (parity as pyserial spells it: N, E, O)."""

    port: str
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    terminator: Terminator = "CR"
    encoding: str = "latin-1"  # devices send bytes; GS (0x1D) and friends must survive

    def open(self, timeout: float) -> serial.SerialBase:
        return serial.serial_for_url(
            self.port,
            baudrate=self.baudrate,
            parity=self.parity,
            bytesize=self.bytesize,
            stopbits=self.stopbits,
            timeout=timeout,
        )


class LineReader:
    """Reads one serial line on its own thread; callbacks run on that thread.

    ``on_open()`` when the port opened, ``on_lines(lines)`` with the non-empty lines of
    each chunk read (terminators stripped), ``on_error(text)`` when the port cannot be
    opened or went away. Bytes without a terminator for ``max_line`` bytes are handed on
    as a line, so a wrong terminator shows as unreadable lines, not as endless silence.
    """

    def __init__(
        self,
        name: str,
        line: SerialLine,
        *,
        on_lines: Callable[[list[str]], None],
        on_error: Callable[[str], None],
        on_open: Callable[[], None] = lambda: None,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 10.0,
        max_line: int = 4096,
    ) -> None:
        self.line = line
        self.on_lines, self.on_error, self.on_open = on_lines, on_error, on_open
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.max_line = max_line
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and close the port; returns once the thread has ended."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        delay = self.backoff_initial_s
        while not self._stop.is_set():
            try:
                port = self.line.open(timeout=0.2)  # how soon a stop is noticed
            # termios.error: settings the port refuses (a pty takes no parity)
            except (serial.SerialException, OSError, termios.error) as exc:
                self.on_error(f"cannot open {self.line.port}: {exc}")
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
                continue
            delay = self.backoff_initial_s
            self.on_open()
            try:
                self._read(port)
            except (serial.SerialException, OSError) as exc:
                self.on_error(f"{self.line.port} went away: {exc}")
            finally:
                port.close()
            # a port that fails as soon as it opens is not reopened in a busy loop
            self._stop.wait(self.backoff_initial_s)

    def _read(self, port: serial.SerialBase) -> None:
        terminator = TERMINATORS[self.line.terminator]
        buffer = b""
        while not self._stop.is_set():
            chunk = port.read(max(1, port.in_waiting))
            if not chunk:
                continue
            buffer += chunk
            *raw, buffer = buffer.split(terminator)
            if len(buffer) > self.max_line:
                raw.append(buffer)
                buffer = b""
            decoded = (r.decode(self.line.encoding, errors="replace").strip("\r\n") for r in raw)
            lines = [text for text in decoded if text]
            if lines:
                self.on_lines(lines)
