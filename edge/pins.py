"""Supervisor PINs: stored only as salted PBKDF2 hashes, checked with a lockout after misses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

_ALGORITHM = "pbkdf2_sha256"
# A PIN has few digits, so the hash must be slow to try; the lockout does the rest.
_ITERATIONS = 200_000


def hash_pin(pin: str, *, iterations: int = _ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` for a PIN of 4 to 12 digits."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a PIN is 4 to 12 digits")
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"{_ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def is_pin_hash(text: str) -> bool:
    parts = text.split("$")
    if len(parts) != 4 or parts[0] != _ALGORITHM or not parts[1].isdigit():
        return False
    try:
        bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    except ValueError:
        return False
    return True


# checked when a badge has no PIN, so a wrong badge takes as long to refuse as a wrong PIN
_DUMMY = hash_pin("0000", iterations=_ITERATIONS)


def verify_pin(pin: str, stored: str | None) -> bool:
    """Whether ``pin`` matches ``stored``; with no stored hash, False after the same work."""
    _, iterations, salt, digest = (stored or _DUMMY).split("$")
    tried = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(iterations))
    return stored is not None and hmac.compare_digest(tried, bytes.fromhex(digest))


class PinGuard:
    """Wrong PINs per badge; ``attempts`` misses in a row lock the badge for ``lockout_s``.

    An attempt counts as a miss from the moment it starts (``begin``) until it proves
    right (``succeeded``), so guesses sent in parallel cannot outrun the count.
    """

    MAX_BADGES = 10_000  # badges tracked at once; a flood of made-up ones cannot grow it more

    def __init__(
        self, attempts: int, lockout_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts, self.lockout_s, self.clock = attempts, lockout_s, clock
        self._misses: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def locked_for(self, badge: str) -> float:
        """Seconds until ``badge`` may try again; 0 when it may now."""
        with self._lock:
            return max(0.0, self._locked_until.get(badge, 0.0) - self.clock())

    def begin(self, badge: str) -> float:
        """Count an attempt; returns the seconds ``badge`` is locked for (0: go ahead)."""
        with self._lock:
            now = self.clock()
            until = self._locked_until.get(badge, 0.0)
            if until > now:
                return until - now
            if len(self._misses) >= self.MAX_BADGES and badge not in self._misses:
                self._forget(now)
            misses = self._misses.get(badge, 0) + 1
            self._misses[badge] = misses
            if misses > self.attempts:
                self._locked_until[badge] = now + self.lockout_s
                self._misses[badge] = 0
                return self.lockout_s
            return 0.0

    def succeeded(self, badge: str) -> None:
        with self._lock:
            self._misses.pop(badge, None)

    def _forget(self, now: float) -> None:
        self._locked_until = {b: t for b, t in self._locked_until.items() if t > now}
        self._misses = {b: n for b, n in self._misses.items() if b in self._locked_until}
        if len(self._misses) >= self.MAX_BADGES:
            self._misses.clear()
