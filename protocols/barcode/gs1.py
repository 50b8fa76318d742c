"""GS1 element strings and bare GTINs read with biip, with the reasons a worker needs."""

from __future__ import annotations

import calendar

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString, GS1ElementStrings
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin

from protocols.barcode.scan import GS1_KIND, Scan, ScanError

SEPARATOR = "\x1d"
# Keyboard wedges that cannot type GS send one of these instead.
SEPARATOR_RENDERINGS = ("^]", "<GS>", "{GS}")
# GS1 AI encodable character set 82: the only characters GS1 data may hold.
_CSET_82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_DATE_NAMES = {
    "11": "production date",
    "12": "due date",
    "13": "packaging date",
    "15": "best before date",
    "16": "sell by date",
    "17": "expiry date",
}
_KEY_NAMES = {"00": "SSCC", "01": "GTIN", "02": "contained GTIN", "03": "GTIN"}
# A GS1 label puts its identification key first; wedge data without one is not taken as GS1.
_WEDGE_GS1_STARTS = (SEPARATOR, "00", "01", "02")
INVALID = "not a valid GS1 element string"


def normalize_separators(data: str) -> str:
    """Replace wedge renderings of the group separator with the GS character."""
    for rendering in SEPARATOR_RENDERINGS:
        data = data.replace(rendering, SEPARATOR)
    return data


def looks_like_gs1(data: str) -> bool:
    """Whether data without a symbology identifier should be read as GS1."""
    return normalize_separators(data).startswith(_WEDGE_GS1_STARTS)


def parse_gs1(data: str, *, raw: str, symbology: str | None) -> Scan:
    """Read a GS1 element string; raise ScanError naming the first problem."""
    data = normalize_separators(data).strip(SEPARATOR)
    if not data:
        raise ScanError("scan holds no GS1 data")
    for char in data:
        if char not in _CSET_82 and char != SEPARATOR:
            shown = "a space" if char == " " else repr(char)
            raise ScanError(f"{INVALID}: {shown} is not allowed in GS1 data")
    try:
        elements = GS1Message.parse(data).element_strings
    except ParseError as exc:
        raise ScanError(_diagnose(data, exc)) from None
    ais = _check(elements)
    weight = elements.get(ai="310")
    counts = [element for element in elements if element.ai.ai in ("30", "37")]
    expiry = elements.get(ai="17")
    return Scan(
        raw=raw,
        symbology=symbology,
        kind=GS1_KIND,
        gtin=ais.get("01"),
        batch=ais.get("10"),
        serial=ais.get("21"),
        expiry=expiry.date if expiry else None,
        count=int(counts[0].value) if counts else None,
        net_weight_kg=float(weight.decimal) if weight and weight.decimal is not None else None,
        ais=ais,
    )


def parse_gtin(data: str, *, raw: str, symbology: str | None) -> Scan:
    """Read a bare GTIN (EAN/UPC, ITF-14) as GTIN-14."""
    if not (data.isascii() and data.isdigit() and len(data) in (8, 12, 13, 14)):
        raise ScanError(f"{_clip(data)!r} is not a GTIN (expected 8, 12, 13 or 14 digits)")
    try:
        gtin = Gtin.parse(data)
    except ParseError:
        raise ScanError(_check_digit_reason("GTIN", data)) from None
    return Scan(raw=raw, symbology=symbology, kind=GS1_KIND, gtin=gtin.as_gtin_14())


def _check(elements: GS1ElementStrings) -> dict[str, str]:
    """Checks biip leaves to the caller; return the AIs and their values."""
    ais: dict[str, str] = {}
    for element in elements:
        ai = element.ai
        if not element.value:
            raise ScanError(f"{INVALID}: {ai} {ai.data_title} has no value")
        if element.gtin_error or element.sscc_error:
            raise ScanError(_check_digit_reason(_KEY_NAMES[ai.ai], element.value))
        if element.gln_error:
            raise ScanError(_check_digit_reason(f"GLN in {ai}", element.value))
        if ais.setdefault(ai.ai, element.value) != element.value:
            raise ScanError(f"{INVALID}: {ai} appears twice with different values")
    return ais


def _check_digit_reason(name: str, digits: str) -> str:
    expected = gs1_standard_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        return f"{name} check digit is wrong (expected {expected})"
    return f"{name} {digits} is not valid"


def _diagnose(data: str, error: ParseError) -> str:
    """Walk the element strings as biip does and say which one fails, and why."""
    rest = data
    while rest:
        try:
            ai = GS1ApplicationIdentifier.extract(rest)
        except ParseError:
            return f"{INVALID}: no application identifier at {_clip(rest)!r}"
        field = rest[len(ai.ai) :].split(SEPARATOR, 1)[0]
        if ai.ai in _DATE_NAMES and (problem := _date_problem(field[:6])):
            return f"{_DATE_NAMES[ai.ai]} {problem}"
        try:
            element = GS1ElementString.extract(rest)
        except ParseError:
            return f"{INVALID}: {ai} {ai.data_title} has a bad value {_clip(field)!r} ({ai.format})"
        rest = rest[len(element) :].lstrip(SEPARATOR)
    return f"{INVALID}: {error}"


def _date_problem(digits: str) -> str | None:
    """Say what is wrong with a YYMMDD date, or None if it is a real date (day 00 is fine)."""
    if len(digits) != 6 or not digits.isdigit():
        return f"{digits!r} is not a date (expected YYMMDD)"
    month, day = int(digits[2:4]), int(digits[4:])
    if not 1 <= month <= 12:
        return f"{digits} has month {digits[2:4]}"
    # 2000 + YY has the leap years of every year in GS1's 1951-2050 window.
    days = calendar.monthrange(2000 + int(digits[:2]), month)[1]
    if day > days:
        return f"{digits} has day {digits[4:]} (that month has {days} days)"
    return None


def _clip(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."
