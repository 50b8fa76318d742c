"""Barcode scan parsing: the shared samples, our own cases, and properties over any input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.barcode import (
    DEFAULT_PATTERNS,
    InternalPattern,
    Scan,
    ScanError,
    explain,
    parse_scan,
)

SAMPLES_PATH = Path(__file__).resolve().parents[3] / "shared" / "barcodes" / "samples.json"
SAMPLES: list[dict[str, Any]] = json.loads(SAMPLES_PATH.read_text(encoding="utf-8"))
SCAN_FIELDS = ("gtin", "batch", "serial", "count", "net_weight_kg", "value")
GS = "\x1d"
# GTIN 09501101530003, batch LOT2026A, expiry 2027-12-31, count 250.
BODY = f"010950110153000310LOT2026A{GS}1727123130250"


def _reason(raw: str, patterns: tuple[InternalPattern, ...] = DEFAULT_PATTERNS) -> str:
    with pytest.raises(ScanError) as info:
        parse_scan(raw, patterns)
    assert str(info.value) == info.value.reason
    return info.value.reason


@pytest.mark.parametrize("sample", SAMPLES, ids=[repr(s["input"]) for s in SAMPLES])
def test_shared_sample(sample: dict[str, Any]) -> None:
    if not sample["accept"]:
        assert sample["reason"].lower() in _reason(sample["input"]).lower()
        return
    scan = parse_scan(sample["input"])
    assert scan.raw == sample["input"]
    assert scan.kind == sample.get("internal", "gs1")
    for name in SCAN_FIELDS:
        assert getattr(scan, name) == sample.get(name), name
    expected_expiry = sample.get("expiry")
    assert scan.expiry == (dt.date.fromisoformat(expected_expiry) if expected_expiry else None)


@pytest.mark.parametrize("symbology", ["]C1", "]d2", "]Q3", "]e0"])
def test_gs1_symbologies(symbology: str) -> None:
    scan = parse_scan(f"{symbology}{BODY}\r\n")
    assert (scan.symbology, scan.kind, scan.gtin, scan.batch) == (
        symbology,
        "gs1",
        "09501101530003",
        "LOT2026A",
    )
    assert (scan.expiry, scan.count) == (dt.date(2027, 12, 31), 250)
    assert scan.ais == {"01": "09501101530003", "10": "LOT2026A", "17": "271231", "30": "250"}


@pytest.mark.parametrize(
    "raw",
    [
        BODY,
        f"{BODY}\r",
        f"{BODY}\n",
        f"{BODY}{GS}\r\n",
        f"{GS}{BODY}",
        BODY.replace(GS, "^]"),
        BODY.replace(GS, "<GS>"),
        BODY.replace(GS, "{GS}"),
        f"]C1{BODY}{GS}",
    ],
    ids=["wedge", "cr", "lf", "trailing-gs", "leading-fnc1", "caret", "angle", "brace", "aim+gs"],
)
def test_separator_and_terminator_forms(raw: str) -> None:
    scan = parse_scan(raw)
    assert (scan.gtin, scan.batch, scan.expiry, scan.count) == (
        "09501101530003",
        "LOT2026A",
        dt.date(2027, 12, 31),
        250,
    )


def test_last_variable_field_needs_no_separator() -> None:
    scan = parse_scan("]C1010950110153000317271231" + "21SN-9")
    assert (scan.serial, scan.expiry) == ("SN-9", dt.date(2027, 12, 31))


def test_expiry_day_00_is_last_day_of_month() -> None:
    assert parse_scan("]C1010950110153000317280200").expiry == dt.date(2028, 2, 29)
    assert parse_scan("]C1010950110153000317270400").expiry == dt.date(2027, 4, 30)


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        ("]C101040063813339313102000125", "net_weight_kg", 1.25),
        ("]C101040063813339313100000007", "net_weight_kg", 7.0),
        ("]C1020950110153000337144", "count", 144),
        ("]C100106141411234567897", "ais", {"00": "106141411234567897"}),
        ("]E05901234123457", "gtin", "05901234123457"),
        ("]E496385074", "gtin", "00000096385074"),
        ("]C0WO-2026-000123", "value", "WO-2026-000123"),
        ("ST-LINE1-04\r\n", "kind", "station"),
        ("DEF-SCRATCH\n", "kind", "defect_code"),
    ],
)
def test_accepted_field(raw: str, field: str, expected: object) -> None:
    assert getattr(parse_scan(raw), field) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty scan"),
        ("  \r\n", "empty scan"),
        ("]C1\r\n", "only the symbology identifier ]C1"),
        ("]", "not a symbology identifier"),
        ("]x1abc", "not a symbology identifier"),
        ("#%&*garbage!!", "is not a known code"),
        ("WO-26-12\r\n", "'WO-26-12' is not a known code"),
        ("]C0EMP-42", "is not a known code"),
        ("]C1WO-2026-000123", "not a valid GS1 element string: no application identifier"),
        ("01095011015300039", "not a valid GS1 element string"),
        ("]C101095011015300031727023110A", "expiry date 270231 has day 31"),
        ("]C1010950110153000317270031", "expiry date 270031 has month 00"),
        ("]C1010950110153000317271", "expiry date '271' is not a date"),
        ("]C1010950110153000315261301", "best before date 261301 has month 13"),
        ("]C1020950110153000937144", "contained GTIN check digit is wrong (expected 3)"),
        ("]C100106141411234567890", "SSCC check digit is wrong (expected 7)"),
        ("]E05901234123450", "GTIN check digit is wrong (expected 7)"),
        ("]E0ABC", "is not a GTIN"),
        (f"]C110A{GS}10B", "(10) appears twice with different values"),
        (f"]C130{GS}10A", "(30) VAR. COUNT has no value"),
        ("]C110LOT\u00e9", "'\u00e9' is not allowed in GS1 data"),
        ("]C101\u0669950110153000310A", "is not allowed in GS1 data"),
        (f"]C1{GS}{GS}", "no GS1 data"),
    ],
)
def test_rejected(raw: str, reason: str) -> None:
    assert reason in _reason(raw)


def test_unidentified_digits_without_key_are_not_gs1() -> None:
    # Without an AIM identifier, only data led by AI 00/01/02 (or FNC1) is read as GS1.
    assert "is not a known code" in _reason("4006381333931")


def test_custom_patterns_replace_defaults() -> None:
    patterns = (InternalPattern("lot", r"LOT-[0-9]{5}"),)
    assert parse_scan("LOT-00042\r", patterns).kind == "lot"
    assert "expected a GS1 barcode or a lot" in _reason("WO-2026-000123", patterns)
    assert "(expected a GS1 barcode)" in _reason("WO-2026-000123", ())


@pytest.mark.parametrize(("kind", "regex"), [("gs1", r"X"), ("", r"X"), ("lot", r"LOT-(")])
def test_bad_internal_pattern(kind: str, regex: str) -> None:
    with pytest.raises(ValueError):
        InternalPattern(kind, regex)


def test_explain_shapes() -> None:
    accepted = explain("EMP-0042\r\n")
    assert accepted == {"accepted": True, **parse_scan("EMP-0042\r\n").to_json()}
    assert json.loads(json.dumps(explain(f"]C1{BODY}"))) == {
        "accepted": True,
        "raw": f"]C1{BODY}",
        "symbology": "]C1",
        "kind": "gs1",
        "gtin": "09501101530003",
        "batch": "LOT2026A",
        "serial": None,
        "expiry": "2027-12-31",
        "count": 250,
        "net_weight_kg": None,
        "value": None,
        "ais": {"01": "09501101530003", "10": "LOT2026A", "17": "271231", "30": "250"},
    }
    assert explain("\r\n") == {"accepted": False, "reason": "empty scan", "raw": "\r\n"}


SCANNER_PIECES = [
    *("]C1", "]d2", "]Q3", "]e0", "]E0", "]", GS, "^]", "<GS>", "\r", "\n", " "),
    *("00", "01", "02", "10", "17", "21", "30", "37", "3103", "11", "41", "8008"),
    *"0123456789ABZaz-_%\u0669\u00e9",
]
SCANNER_LIKE = st.lists(st.sampled_from(SCANNER_PIECES), max_size=30).map("".join)
ANY_SCAN = st.one_of(st.text(), SCANNER_LIKE)


@given(ANY_SCAN)
def test_parse_scan_returns_scan_or_raises_scan_error(raw: str) -> None:
    try:
        scan = parse_scan(raw)
    except ScanError as exc:
        assert exc.reason
        return
    assert isinstance(scan, Scan)
    assert scan.raw == raw
    json.dumps(scan.to_json())


@given(ANY_SCAN)
def test_explain_never_raises(raw: str) -> None:
    result = explain(raw)
    assert isinstance(result["accepted"], bool)
    assert result["raw"] == raw
    json.dumps(result)
