"""Decode and encode Modbus register words for typed, scaled tags.

Byte and word order rule. A value is first written as big-endian bytes
(most-significant byte first) and cut into 16-bit words, most-significant word
first; that is ``ABCD``. The order name then says two independent things:

* word order: ``ABCD`` and ``BADC`` keep the most-significant word first;
  ``CDAB`` and ``DCBA`` reverse the whole word list (least-significant first).
* byte order inside each word: ``BADC`` and ``DCBA`` swap the two bytes.

For 64-bit types this gives ``ABCD`` = W0 W1 W2 W3, ``CDAB`` = W3 W2 W1 W0, and
``DCBA`` = fully little-endian. For 16-bit types only the byte swap matters, so
``CDAB`` reads like ``ABCD`` and ``DCBA`` like ``BADC``. Strings are characters
in address order (word order does not apply); ``BADC``/``DCBA`` put the first
character of each register in the low byte.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "ByteOrder",
    "DataType",
    "RegisterError",
    "Table",
    "TagSpec",
    "Value",
    "decode",
    "encode",
    "register_count",
]

Table = Literal["holding", "input", "coil", "discrete"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "bool", "string"]
ByteOrder = Literal["ABCD", "BADC", "CDAB", "DCBA"]
Value = int | float | bool | str

BIT_TABLES: frozenset[str] = frozenset({"coil", "discrete"})
_NUMERIC: dict[str, tuple[str, int]] = {
    # data type -> (struct format, registers)
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "float32": (">f", 2),
    "float64": (">d", 4),
}
_INT_RANGE: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


class RegisterError(ValueError):
    """Register words that do not decode to a valid value, or a value that does not encode."""


def register_count(data_type: DataType, length: int | None = None) -> int:
    """Number of registers (or bits) a value of ``data_type`` occupies."""
    if data_type == "string":
        if length is None or length < 1:
            raise ValueError("a string needs a length of at least 1 register")
        return length
    if data_type == "bool":
        return 1
    if data_type not in _NUMERIC:
        raise ValueError(f"unknown data type {data_type!r}; expected one of {get_args(DataType)}")
    return _NUMERIC[data_type][1]


@dataclass(frozen=True)
class TagSpec:
    """Where a tag lives on a Modbus device and how its words become a value."""

    name: str
    table: Table
    address: int
    data_type: DataType
    byte_order: ByteOrder = "ABCD"
    scale: float = 1.0
    offset: float = 0.0
    length: int | None = None
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        where = f"tag {self.name!r}"
        if not self.name:
            raise ValueError("a tag needs a name")
        if self.table not in get_args(Table):
            raise ValueError(f"{where}: unknown table {self.table!r}; use one of {get_args(Table)}")
        if self.data_type not in get_args(DataType):
            raise ValueError(f"{where}: unknown data type {self.data_type!r}")
        if self.byte_order not in get_args(ByteOrder):
            raise ValueError(f"{where}: unknown byte order {self.byte_order!r}")
        if self.table in BIT_TABLES and self.data_type != "bool":
            raise ValueError(f"{where}: table {self.table!r} holds bits; data type must be bool")
        if self.data_type != "string" and self.length is not None:
            raise ValueError(f"{where}: length applies to strings only")
        count = register_count(self.data_type, self.length)
        if not 0 <= self.address <= 65536 - count:
            raise ValueError(f"{where}: address {self.address} (+{count}) outside 0..65535")
        if not (math.isfinite(self.scale) and self.scale != 0 and math.isfinite(self.offset)):
            raise ValueError(f"{where}: scale must be finite and non-zero, offset finite")
        if self.data_type in ("bool", "string") and (
            self.scale != 1.0
            or self.offset != 0.0
            or self.minimum is not None
            or self.maximum is not None
        ):
            raise ValueError(f"{where}: scale, offset, minimum and maximum apply to numbers only")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"{where}: minimum {self.minimum} is above maximum {self.maximum}")

    @property
    def count(self) -> int:
        """Registers (or bits) this tag occupies."""
        return register_count(self.data_type, self.length)

    @property
    def end(self) -> int:
        """First address after this tag."""
        return self.address + self.count


def _to_bytes(words: Sequence[int], order: ByteOrder) -> bytes:
    if order in ("CDAB", "DCBA"):
        words = list(reversed(words))
    swap = order in ("BADC", "DCBA")
    return b"".join(struct.pack("<H" if swap else ">H", w) for w in words)


def _to_words(data: bytes, order: ByteOrder) -> list[int]:
    fmt = "<H" if order in ("BADC", "DCBA") else ">H"
    words = [struct.unpack(fmt, data[i : i + 2])[0] for i in range(0, len(data), 2)]
    return words[::-1] if order in ("CDAB", "DCBA") else words


def decode(spec: TagSpec, words: Sequence[int]) -> Value:
    """Turn a tag's register words (or bits) into its value, refusing anything invalid."""
    where = f"tag {spec.name!r}"
    if len(words) != spec.count:
        raise RegisterError(f"{where}: expected {spec.count} word(s), got {len(words)}")
    top = 1 if spec.table in BIT_TABLES else 65535
    for word in words:
        if not isinstance(word, int) or not 0 <= word <= top:
            raise RegisterError(f"{where}: register word {word!r} outside 0..{top}")
    if spec.data_type == "bool":
        # Devices signal "true" in a register as 1 or 0xFFFF; any non-zero word counts.
        return words[0] != 0
    if spec.data_type == "string":
        raw = _to_bytes(words, "BADC" if spec.byte_order in ("BADC", "DCBA") else "ABCD")
        text = raw.split(b"\x00", 1)[0]
        try:
            return text.decode("ascii")
        except UnicodeDecodeError:
            raise RegisterError(f"{where}: string is not ASCII: {raw!r}") from None
    fmt = _NUMERIC[spec.data_type][0]
    raw_value: int | float = struct.unpack(fmt, _to_bytes(words, spec.byte_order))[0]
    value: int | float = raw_value
    if isinstance(raw_value, float) or spec.scale != 1.0 or spec.offset != 0.0:
        value = float(raw_value) * spec.scale + spec.offset
        if not math.isfinite(value):
            raise RegisterError(f"{where}: register value is not a finite number ({value})")
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        raise RegisterError(
            f"{where}: register value out of range: {value} not in {spec.minimum}..{spec.maximum}"
        )
    return value


def encode(spec: TagSpec, value: Value) -> list[int]:
    """Turn a value into the tag's register words; the inverse of ``decode``.

    The tag's minimum and maximum are not enforced here, so a simulator can
    produce the out-of-range readings that ``decode`` must refuse.
    """
    where = f"tag {spec.name!r}"
    if spec.data_type == "bool":
        if not isinstance(value, bool):
            raise RegisterError(f"{where}: expected a bool, got {value!r}")
        return [int(value)]
    if spec.data_type == "string":
        if not isinstance(value, str):
            raise RegisterError(f"{where}: expected a str, got {value!r}")
        try:
            raw = value.encode("ascii")
        except UnicodeEncodeError:
            raise RegisterError(f"{where}: string {value!r} is not ASCII") from None
        if len(raw) > 2 * spec.count or b"\x00" in raw:
            raise RegisterError(f"{where}: {value!r} does not fit {spec.count} register(s)")
        padded = raw.ljust(2 * spec.count, b"\x00")
        return _to_words(padded, "BADC" if spec.byte_order in ("BADC", "DCBA") else "ABCD")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RegisterError(f"{where}: expected a number, got {value!r}")
    try:
        return _to_words(_pack_number(spec, value), spec.byte_order)
    except OverflowError:
        raise RegisterError(f"{where}: {value!r} does not fit {spec.data_type}") from None


def _pack_number(spec: TagSpec, value: int | float) -> bytes:
    where = f"tag {spec.name!r}"
    raw_value: int | float = value
    if spec.scale != 1.0 or spec.offset != 0.0:
        raw_value = (value - spec.offset) / spec.scale
    if not math.isfinite(raw_value):
        raise RegisterError(f"{where}: {value!r} is not a finite number")
    if spec.data_type in _INT_RANGE:
        raw_value = round(raw_value)
        low, high = _INT_RANGE[spec.data_type]
        if not low <= raw_value <= high:
            raise RegisterError(f"{where}: {value!r} does not fit {spec.data_type}")
    return struct.pack(_NUMERIC[spec.data_type][0], raw_value)
