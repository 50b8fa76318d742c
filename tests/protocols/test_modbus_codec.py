"""Register codec: known vectors per byte order, refusals, and round trips."""

from __future__ import annotations

import math
import struct
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.modbus import ByteOrder, DataType, RegisterError, TagSpec, decode, encode
from protocols.modbus.codec import register_count

ORDERS: tuple[ByteOrder, ...] = get_args(ByteOrder)


def tag(data_type: DataType, order: ByteOrder = "ABCD", **kwargs: object) -> TagSpec:
    return TagSpec("t", "holding", 100, data_type, order, **kwargs)  # type: ignore[arg-type]


# (data type, byte order, value, words) — words worked out by hand from the big-endian bytes.
VECTORS = [
    # float32 123.456 = 0x42F6E979
    ("float32", "ABCD", 123.456, [0x42F6, 0xE979]),
    ("float32", "BADC", 123.456, [0xF642, 0x79E9]),
    ("float32", "CDAB", 123.456, [0xE979, 0x42F6]),
    ("float32", "DCBA", 123.456, [0x79E9, 0xF642]),
    # int32 -2 = 0xFFFFFFFE
    ("int32", "ABCD", -2, [0xFFFF, 0xFFFE]),
    ("int32", "BADC", -2, [0xFFFF, 0xFEFF]),
    ("int32", "CDAB", -2, [0xFFFE, 0xFFFF]),
    ("int32", "DCBA", -2, [0xFEFF, 0xFFFF]),
    # uint32 305419896 = 0x12345678
    ("uint32", "ABCD", 0x12345678, [0x1234, 0x5678]),
    ("uint32", "BADC", 0x12345678, [0x3412, 0x7856]),
    ("uint32", "CDAB", 0x12345678, [0x5678, 0x1234]),
    ("uint32", "DCBA", 0x12345678, [0x7856, 0x3412]),
    # float64 123.456 = 0x405EDD2F1A9FBE77
    ("float64", "ABCD", 123.456, [0x405E, 0xDD2F, 0x1A9F, 0xBE77]),
    ("float64", "BADC", 123.456, [0x5E40, 0x2FDD, 0x9F1A, 0x77BE]),
    ("float64", "CDAB", 123.456, [0xBE77, 0x1A9F, 0xDD2F, 0x405E]),
    ("float64", "DCBA", 123.456, [0x77BE, 0x9F1A, 0x2FDD, 0x5E40]),
    # 16-bit: only the byte swap matters
    ("int16", "ABCD", -2, [0xFFFE]),
    ("int16", "CDAB", -2, [0xFFFE]),
    ("int16", "BADC", -2, [0xFEFF]),
    ("int16", "DCBA", -2, [0xFEFF]),
    ("uint16", "ABCD", 0x1234, [0x1234]),
    ("uint16", "DCBA", 0x1234, [0x3412]),
    ("uint16", "ABCD", 65535, [0xFFFF]),
    ("int16", "ABCD", -32768, [0x8000]),
    ("bool", "ABCD", True, [1]),
    ("bool", "ABCD", False, [0]),
    # "AB12" + padding: 'A'=0x41 'B'=0x42 '1'=0x31 '2'=0x32
    ("string", "ABCD", "AB12", [0x4142, 0x3132, 0x0000]),
    ("string", "CDAB", "AB12", [0x4142, 0x3132, 0x0000]),
    ("string", "BADC", "AB12", [0x4241, 0x3231, 0x0000]),
    ("string", "DCBA", "AB1", [0x4241, 0x0031, 0x0000]),
]


@pytest.mark.parametrize(("data_type", "order", "value", "words"), VECTORS)
def test_known_vectors(
    data_type: DataType, order: ByteOrder, value: object, words: list[int]
) -> None:
    spec = tag(data_type, order, length=3) if data_type == "string" else tag(data_type, order)
    decoded = decode(spec, words)
    if data_type == "float32":
        assert decoded == pytest.approx(value, rel=1e-7)
    else:
        assert decoded == value
        assert type(decoded) is type(value)
    assert encode(spec, value) == words  # type: ignore[arg-type]


def test_dcba_is_little_endian() -> None:
    raw = struct.pack("<d", 123.456)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 8, 2)]
    assert decode(tag("float64", "DCBA"), words) == 123.456


@pytest.mark.parametrize(
    ("data_type", "length", "count"),
    [("int16", None, 1), ("uint16", None, 1), ("int32", None, 2), ("uint32", None, 2),
     ("float32", None, 2), ("float64", None, 4), ("bool", None, 1), ("string", 10, 10)],
)  # fmt: skip
def test_register_count(data_type: DataType, length: int | None, count: int) -> None:
    assert register_count(data_type, length) == count


def test_scale_and_offset() -> None:
    spec = tag("int16", scale=0.1, offset=-40.0)
    assert decode(spec, [650]) == pytest.approx(25.0)
    assert encode(spec, 25.0) == [650]
    assert decode(tag("uint16"), [7]) == 7  # unscaled integers stay int
    assert isinstance(decode(tag("uint16", scale=2.0), [7]), float)


def test_coil_bits() -> None:
    coil = TagSpec("run", "coil", 0, "bool")
    assert decode(coil, [True]) is True
    assert decode(coil, [0]) is False
    with pytest.raises(RegisterError, match=r"outside 0\.\.1"):
        decode(coil, [2])


def test_bool_register_any_nonzero_is_true() -> None:
    assert decode(tag("bool"), [0xFFFF]) is True


@pytest.mark.parametrize(
    ("spec", "words", "message"),
    [
        (tag("int32"), [1], "expected 2 word"),
        (tag("int32"), [1, 2, 3], "expected 2 word"),
        (tag("uint16"), [65536], "outside 0..65535"),
        (tag("uint16"), [-1], "outside 0..65535"),
        (tag("uint16"), [1.0], "outside 0..65535"),
        (tag("float32"), [0x7FC0, 0x0000], "not a finite number"),  # NaN
        (tag("float32"), [0x7F80, 0x0000], "not a finite number"),  # +inf
        (tag("float64"), [0xFFF0, 0, 0, 0], "not a finite number"),  # -inf
        (tag("float32", scale=1e300), [0x7F7F, 0xFFFF], "not a finite number"),  # overflows
        (tag("int16", minimum=0, maximum=100), [101], "register value out of range"),
        (tag("int16", minimum=0, maximum=100), [0xFFFF], "register value out of range"),
        (tag("uint16", scale=0.1, maximum=10.0), [101], "register value out of range"),
        (tag("string", length=1), [0x41FF], "not ASCII"),
    ],
)
def test_bad_registers_are_refused(spec: TagSpec, words: list[int], message: str) -> None:
    with pytest.raises(RegisterError, match=message):
        decode(spec, words)


def test_range_bounds_are_inclusive() -> None:
    spec = tag("int16", minimum=-5, maximum=100)
    assert decode(spec, [100]) == 100
    assert decode(spec, encode(spec, -5)) == -5


def test_string_stops_at_first_nul() -> None:
    assert decode(tag("string", length=2), [0x4100, 0x4243]) == "A"


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (tag("int16"), 32768, "does not fit int16"),
        (tag("uint16"), -1, "does not fit uint16"),
        (tag("uint32"), 2**32, "does not fit uint32"),
        (tag("int16"), 10**400, "does not fit int16"),
        (tag("float32"), 1e40, "does not fit float32"),
        (tag("float32"), math.nan, "not a finite number"),
        (tag("float64"), math.inf, "not a finite number"),
        (tag("int16"), True, "expected a number"),
        (tag("int16"), "7", "expected a number"),
        (tag("bool"), 1, "expected a bool"),
        (tag("string", length=1), "ABC", "does not fit 1 register"),
        (tag("string", length=1), "é", "not ASCII"),
    ],
)
def test_unencodable_values_are_refused(spec: TagSpec, value: object, message: str) -> None:
    with pytest.raises(RegisterError, match=message):
        encode(spec, value)  # type: ignore[arg-type]


def test_encode_ignores_valid_range_so_simulators_can_misbehave() -> None:
    spec = tag("int16", minimum=0, maximum=100)
    with pytest.raises(RegisterError, match="out of range"):
        decode(spec, encode(spec, 500))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "coils"}, "unknown table"),
        ({"data_type": "int8"}, "unknown data type"),
        ({"byte_order": "ABDC"}, "unknown byte order"),
        ({"table": "coil"}, "data type must be bool"),
        ({"address": -1}, "outside 0..65535"),
        ({"address": 65535}, "outside 0..65535"),  # int32 needs two registers
        ({"scale": 0.0}, "scale must be finite and non-zero"),
        ({"length": 2}, "length applies to strings only"),
        ({"minimum": 10, "maximum": 1}, "above maximum"),
        ({"name": ""}, "needs a name"),
    ],
)
def test_bad_tag_specs_are_refused(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "name": "t",
        "table": "holding",
        "address": 0,
        "data_type": "int32",
    }
    with pytest.raises(ValueError, match=message):
        TagSpec(**(fields | kwargs))  # type: ignore[arg-type]


def test_string_and_bool_take_no_scaling() -> None:
    with pytest.raises(ValueError, match="numbers only"):
        tag("bool", scale=2.0)
    with pytest.raises(ValueError, match="length of at least 1"):
        tag("string")


NUMBERS: dict[str, st.SearchStrategy[int | float]] = {
    "int16": st.integers(-(2**15), 2**15 - 1),
    "uint16": st.integers(0, 2**16 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "uint32": st.integers(0, 2**32 - 1),
    "float32": st.floats(width=32, allow_nan=False, allow_infinity=False),
    "float64": st.floats(allow_nan=False, allow_infinity=False),
}
ascii_text = st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=8)


@given(st.sampled_from(ORDERS), st.data())
def test_value_round_trip_every_type_and_order(order: ByteOrder, data: st.DataObject) -> None:
    for data_type, values in NUMBERS.items():
        spec = tag(data_type, order)  # type: ignore[arg-type]
        value = data.draw(values)
        assert decode(spec, encode(spec, value)) == value
    assert decode(tag("bool", order), encode(tag("bool", order), data.draw(st.booleans()))) in (
        True,
        False,
    )
    text = data.draw(ascii_text)
    assert (
        decode(tag("string", order, length=4), encode(tag("string", order, length=4), text)) == text
    )


@given(st.sampled_from(ORDERS), st.sampled_from(sorted(NUMBERS)), st.data())
def test_words_round_trip(order: ByteOrder, data_type: DataType, data: st.DataObject) -> None:
    spec = tag(data_type, order)
    words = data.draw(st.lists(st.integers(0, 65535), min_size=spec.count, max_size=spec.count))
    try:
        value = decode(spec, words)
    except RegisterError:  # NaN or infinity: refused, nothing to round-trip
        return
    assert encode(spec, value) == words


@given(st.sampled_from(ORDERS), st.integers(-(2**31), 2**31 - 1))
def test_scaled_round_trip(order: ByteOrder, raw: int) -> None:
    spec = tag("int32", order, scale=0.01, offset=-273.15)
    words = encode(tag("int32", order), raw)
    assert encode(spec, decode(spec, words)) == words
