"""A serial barcode scanner on a pseudo-terminal: the edge opens ``device`` like a real port."""

from __future__ import annotations

import random
from collections.abc import Sequence

from simulators.ptys import Pty

SAMPLE_SCANS = (
    "]C1010950110153000310LOT2026A\x1d1727123130250",
    "]d2010761234567001021SN000123\x1d10B77",
    "]C10104006381333931310300125010HEAT-42",
    "WO-2026-000123",
    "EMP-0042",
)


class ScannerSimulator:
    """Writes scans, each followed by the terminator, into the master side of a pty."""

    def __init__(self, terminator: bytes = b"\r") -> None:
        self._pty = Pty()
        self.master = self._pty.master
        self.device = self._pty.device
        self.terminator = terminator
        self.sent = 0

    def send(self, scan: str | bytes, terminator: bytes | None = None) -> None:
        data = scan.encode("latin-1") if isinstance(scan, str) else scan
        if self._pty.write(data + (self.terminator if terminator is None else terminator)):
            self.sent += 1

    def send_random(self, scans: Sequence[str] = SAMPLE_SCANS, *, seed: int | None = None) -> str:
        scan = random.Random(seed).choice(scans)
        self.send(scan)
        return scan

    def close(self) -> None:
        self._pty.close()
