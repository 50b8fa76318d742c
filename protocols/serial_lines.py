"""Line terminators of serial devices (scanners, count stations), by their config names."""

from __future__ import annotations

from typing import Literal

__all__ = ["TERMINATORS", "Terminator"]

Terminator = Literal["CR", "LF", "CRLF"]
TERMINATORS: dict[Terminator, bytes] = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
