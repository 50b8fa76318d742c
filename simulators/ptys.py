"""Pseudo-terminals that stand in for serial devices, and names for them in the file system.

A pty's slave gets a new ``/dev/pts/N`` every time, but an edge config names a fixed
serial port. ``link`` makes the configured path a symbolic link to the pty, so the
edge opens it as it would open ``/dev/ttyUSB0``; ``unlink`` removes it again.
"""

from __future__ import annotations

import contextlib
import os
import termios
import tty
from pathlib import Path

__all__ = ["Pty", "link", "unlink"]


class Pty:
    """A raw pseudo-terminal: the simulator writes to ``master``, the edge opens ``device``.

    The slave stays open here too, so writes never fail while no edge has the port open.
    What is written meanwhile is not for the edge: pyserial flushes its input when it
    opens the port, so the edge hears what is sent after it opened it.
    """

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        self._fds: tuple[int, ...] = (self.master, self._slave)
        tty.setraw(self._slave)  # a device's line is bytes: no echo, no CR/LF translation
        attrs = termios.tcgetattr(self.master)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.master, termios.TCSANOW, attrs)
        os.set_blocking(self.master, False)
        self.device = os.ttyname(self._slave)

    def write(self, data: bytes) -> bool:
        """Write ``data``; False if the line was full (nobody reads) and some was dropped.

        Never blocks: a simulator sending into a port nobody reads must go on serving.
        """
        while data:
            try:
                data = data[os.write(self.master, data) :]
            except BlockingIOError:
                return False
        return True

    def close(self) -> None:
        """Close both ends (once: a number closed twice may be someone else's by then)."""
        fds, self._fds = self._fds, ()
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def link(path: Path, device: str) -> None:
    """Make ``path`` a symbolic link to ``device``, replacing only a dead link.

    Anything else at ``path`` (a real serial port, a file, a live link) is refused:
    a simulator must never take the place of hardware.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() and not path.exists():
        path.unlink()  # left by a simulator that was killed: its pty is gone
    elif path.exists() or path.is_symlink():
        raise FileExistsError(f"{path} exists: not replaced by a simulated device")
    path.symlink_to(device)


def unlink(path: Path, device: str) -> None:
    """Remove ``path`` if it is still the link to ``device``."""
    with contextlib.suppress(OSError):
        if path.is_symlink() and os.readlink(path) == device:
            path.unlink()
