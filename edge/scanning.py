"""Scans, from a serial scanner or a keyboard wedge, checked and recorded as ``scan`` events.

A scan the barcode library accepts is committed to the outbox before the station is
told; a refused scan is answered with the reason and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from edge.idempotency import Keyed
from edge.outbox import Outbox, Recorded
from protocols.barcode import DEFAULT_PATTERNS, InternalPattern, ScanError, parse_scan
from protocols.contract import ContractError

log = logging.getLogger(__name__)

RAW_LIMIT = 512


@dataclass(frozen=True)
class ScanResult:
    """What the station sees: accepted with the scan's meaning, or refused with the reason."""

    accepted: bool
    meaning: dict[str, Any]
    reason: str | None = None
    recorded: Future[Recorded] | None = None


class ScanRecorder:
    def __init__(
        self, outbox: Outbox, patterns: Sequence[InternalPattern] = DEFAULT_PATTERNS
    ) -> None:
        self.outbox = outbox
        self.patterns = tuple(patterns)
        self.accepted = 0
        self.refused = 0

    def submit(self, station: str, device: str, raw: str, key: Keyed | None = None) -> ScanResult:
        """Check a scan and queue its event; ``recorded`` resolves once it is committed.

        With ``key`` a retried scan is answered from its first commit (``Outbox.submit``).
        """
        try:
            if len(raw) > RAW_LIMIT:
                raise ScanError(f"scan is longer than {RAW_LIMIT} characters")
            scan = parse_scan(raw, self.patterns)
        except ScanError as exc:
            self.refused += 1
            log.info(
                "scan refused", extra={"station": station, "device": device, "reason": exc.reason}
            )
            return ScanResult(False, {"raw": raw}, exc.reason)
        meaning = scan.to_json()
        payload = {
            "device": device,
            "raw": raw.rstrip("\r\n"),
            "code": scan.kind,
            **{
                k: meaning[k]
                for k in (
                    "symbology",
                    "gtin",
                    "batch",
                    "serial",
                    "expiry",
                    "count",
                    "net_weight_kg",
                    "value",
                )
                if meaning.get(k) is not None
            },
        }
        try:
            recorded = self.outbox.submit("scan", station, payload, key=key)
        except ContractError as exc:  # e.g. a station code or a field the contract refuses
            self.refused += 1
            return ScanResult(False, meaning, exc.reason)
        self.accepted += 1
        # a scanner with no terminal has nobody waiting for the commit: a store that turns
        # out full must still show in the counts and the log, not vanish
        recorded.add_done_callback(lambda done: self._settled(done, device, station))
        return ScanResult(True, meaning, None, recorded)

    def _settled(self, done: Future[Recorded], device: str, station: str) -> None:
        error = done.exception()
        if error is None:
            if done.result().replayed:  # a retry, counted when it was first accepted
                self.accepted -= 1
            return
        self.accepted -= 1
        self.refused += 1
        log.error(
            "scan not recorded",
            extra={"device": device, "station": station, "error": str(error)},
        )
