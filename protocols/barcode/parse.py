"""Turn what a scanner sent into a ``Scan``, or a reason it is rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from biip import ParseError
from biip.symbology import GS1Symbology, SymbologyIdentifier

from protocols.barcode.gs1 import looks_like_gs1, parse_gs1, parse_gtin
from protocols.barcode.patterns import (
    DEFAULT_PATTERNS,
    InternalPattern,
    describe_kinds,
    match_internal,
)
from protocols.barcode.scan import Scan, ScanError

_TERMINATORS = "\r\n"
_GTIN_SYMBOLOGIES = frozenset({GS1Symbology.EAN_13, GS1Symbology.EAN_8, GS1Symbology.ITF_14})


def parse_scan(raw: str, patterns: Sequence[InternalPattern] = DEFAULT_PATTERNS) -> Scan:
    """Say what a scan means; raise ScanError with a reason a worker can read."""
    data = raw.rstrip(_TERMINATORS)
    if not data.strip():
        raise ScanError("empty scan")
    symbology: str | None = None
    if data.startswith("]"):
        identifier = _symbology_identifier(data)
        symbology = identifier.value
        data = data[len(identifier) :]
        if not data:
            raise ScanError(f"scan holds only the symbology identifier {symbology}, no data")
        if identifier.gs1_symbology in GS1Symbology.with_gs1_messages():
            return parse_gs1(data, raw=raw, symbology=symbology)
        if identifier.gs1_symbology in _GTIN_SYMBOLOGIES:
            return parse_gtin(data, raw=raw, symbology=symbology)
    pattern = match_internal(data, patterns)
    if pattern is not None:
        return Scan(raw=raw, symbology=symbology, kind=pattern.kind, value=data)
    if symbology is None and looks_like_gs1(data):
        return parse_gs1(data, raw=raw, symbology=None)
    shown = data if len(data) <= 24 else f"{data[:24]}..."
    kinds = describe_kinds(patterns)
    expected = f"a GS1 barcode or a {kinds}" if kinds else "a GS1 barcode"
    raise ScanError(f"{shown!r} is not a known code (expected {expected})")


def explain(raw: str, patterns: Sequence[InternalPattern] = DEFAULT_PATTERNS) -> dict[str, Any]:
    """Say as a JSON-ready dict what a scan means or why it is rejected; never raises."""
    try:
        scan = parse_scan(raw, patterns)
    except ScanError as exc:
        return {"accepted": False, "reason": exc.reason, "raw": raw}
    return {"accepted": True, **scan.to_json()}


def _symbology_identifier(data: str) -> SymbologyIdentifier:
    """Read the AIM symbology identifier at the start of ``data``."""
    reason = f"scan starts with {data[:3]!r}, which is not a symbology identifier"
    if len(data) < 3:
        raise ScanError(reason)
    try:
        return SymbologyIdentifier.extract(data)
    except (ParseError, ValueError):  # ValueError: a ']Y' expansion digit that is not a digit
        raise ScanError(reason) from None
