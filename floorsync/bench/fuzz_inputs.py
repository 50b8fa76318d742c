"""Bad input for ``bench fuzz``, from a seeded mutator: scans, register blocks, MQTT payloads.

A seeded ``random.Random`` rather than Hypothesis: it makes an example in microseconds
(Hypothesis takes about a millisecond), and ``(seed, index)`` replays any one of them.
The shrinking property tests stay in tests/protocols with Hypothesis.
"""

from __future__ import annotations

import copy
import json
import random
import string
import uuid
from typing import Any, get_args

import orjson

from protocols.contract.examples import ENVELOPES
from protocols.modbus import ByteOrder, DataType, Table, TagSpec

GS = "\x1d"

# What real scanners send (the shared samples in /work/shared/barcodes), and a few more.
SEED_SCANS: tuple[str, ...] = (
    f"]C1010950110153000310LOT2026A{GS}1727123130250\r\n",
    f"]d2010761234567001021SN000123{GS}10B77\r",
    "010400638133393131030012501 0HEAT-42",
    "]C10104006381333931310300125010HEAT-42\r\n",
    "]Q301095011015300031726130110X\r\n",
    "]C1010950110153000910ABC\r\n",
    "WO-2026-000123\r\n",
    "EMP-0042\r\n",
    "\r\n",
    "]E04012345000122\r",
    "]C1010401234500012210L260227-07\r",
    "01040123450001221727123110LOT^]30120",
    "ST-10\r",
    "D-SOLDER-BRIDGE\r",
    "DEF-SCRATCH\r",
    "WO-2026-000131\r",
)

# (AI, a valid value); the mutator also breaks lengths, digits and dates.
_AIS: tuple[tuple[str, str], ...] = (
    ("00", "106141411234567897"),
    ("01", "09501101530003"),
    ("02", "04012345000122"),
    ("10", "LOT2026A"),
    ("11", "260228"),
    ("17", "271231"),
    ("21", "SN000123"),
    ("30", "250"),
    ("37", "12"),
    ("3103", "001250"),
    ("3922", "1999"),
    ("414", "5412345000013"),
    ("8008", "2603021200"),
    ("99", "INTERNAL"),
    ("23", "1"),  # not an AI
    ("4", "x"),
    ("7007", "260301"),
)
_AIM = ("]C1", "]d2", "]Q3", "]e0", "]E0", "]E4", "]I1", "]C0", "]A0", "]Y9", "]", "]]]", "")
_GS_FORMS = (GS, "^]", "<GS>", "{GS}", "", GS * 3)
_ODD_CHARS = (
    *("\x00", "\x1d", "\x1e", "\x04", "\t", " ", "\r", "\n", "\x7f", "\u00e9", "\u0669"),
    *("\u202e", "\ufeff", "\U0001f600", "\ud800", "\uffff", "\u00a0", "^", "<", "{"),
)
_PRINTABLE = string.digits * 3 + string.ascii_uppercase + "-_%./"

# JSON values that break a field of a message.
_HUGE = "A" * 70_000
_WEIRD: tuple[Any, ...] = (
    *(None, True, False, 0, -1, 1, 2**63, -(2**63) - 1, 2**64, 1.5, -0.0, 1e308),
    *("", " ", "+", "#", "/", "a/b/c", "a/b/c/d/e", "x" * 300, _HUGE, "\u202e\u0669"),
    *("\x00", "\ud800", "2026-03-02T07:00:00", "2026-02-30T07:00:00Z", "1772431212"),
    *("NaN", "-1", "00000000-0000-0000-0000-000000000000", "WO-2026-000123", "ST-10"),
    *([], {}, [1, "a"], {"a": {"b": {"c": []}}}, ["ST-10"]),
)


class Mutator:
    """Makes bad (and some good) input from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.scans = list(SEED_SCANS)

    # -- scans ---------------------------------------------------------------------------

    def scan(self) -> str:
        r = self.rng.random()
        if r < 0.15:
            return self._noise()
        if r < 0.55:
            return self._mutate_text(self.rng.choice(self.scans))
        return self._gs1()

    def _noise(self) -> str:
        rng = self.rng
        data = rng.randbytes(rng.randint(0, 64))
        if rng.random() < 0.5:
            return data.decode("latin-1")
        return data.decode("utf-8", "surrogateescape" if rng.random() < 0.2 else "replace")

    def _mutate_text(self, text: str) -> str:
        rng = self.rng
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(0, len(text))
            op = rng.randrange(9)
            if op == 0:
                text = text[:at] + rng.choice(_ODD_CHARS) + text[at:]
            elif op == 1:
                text = text[:at] + text[at + 1 :]
            elif op == 2 and text:
                at = min(at, len(text) - 1)
                text = text[:at] + rng.choice(_PRINTABLE) + text[at + 1 :]
            elif op == 3:
                text = text[:at]
            elif op == 4:
                text = text[:at] + rng.choice(_GS_FORMS) + text[at:]
            elif op == 5:
                text = rng.choice(_AIM) + text.lstrip("]")
            elif op == 6:
                text = text + rng.choice(("\r", "\n", "\r\n", "\r\r\n", "\n\r", ""))
            elif op == 7:
                text = text * rng.randint(2, 40)
            else:
                piece = text[at : at + rng.randint(1, 8)]
                text = text[:at] + piece + text[at:]
        return text

    def _gs1(self) -> str:
        rng = self.rng
        parts = []
        for _ in range(rng.randint(1, 5)):
            ai, value = rng.choice(_AIS)
            value = self._spoil_value(value) if rng.random() < 0.6 else value
            parts.append(ai + value)
        joiner = rng.choice(_GS_FORMS) if rng.random() < 0.3 else GS
        prefix = rng.choice(_AIM[:6]) if rng.random() < 0.7 else ""
        return prefix + joiner.join(parts) + rng.choice(("", "\r", "\r\n"))

    def _spoil_value(self, value: str) -> str:
        rng = self.rng
        op = rng.randrange(6)
        if op == 0:  # a digit changed: a wrong check digit, a month 13
            at = rng.randrange(len(value))
            return value[:at] + rng.choice(string.digits) + value[at + 1 :]
        if op == 1:  # too short
            return value[: rng.randrange(len(value))]
        if op == 2:  # too long
            return value + "".join(rng.choices(_PRINTABLE, k=rng.randint(1, 30)))
        if op == 3:
            return rng.choice(("000000", "991399", "260230", "250229", "240229", "0" * 14))
        if op == 4:
            return "".join(rng.choices(string.ascii_letters + " ", k=len(value)))
        return self._mutate_text(value)

    # -- Modbus register blocks -----------------------------------------------------------

    def tag(self) -> TagSpec:
        """A valid tag of any type, table, byte order, scale and range."""
        rng = self.rng
        data_type: DataType = rng.choice(get_args(DataType))
        bits = data_type == "bool" and rng.random() < 0.5
        tables: tuple[Table, ...] = ("coil", "discrete") if bits else ("holding", "input")
        table = rng.choice(tables)
        order: ByteOrder = rng.choice(get_args(ByteOrder))
        numeric = data_type not in ("bool", "string")
        scale = rng.choice((1.0, 1.0, 0.1, -2.5, 1e-30, 1e30, 1e300)) if numeric else 1.0
        offset = rng.choice((0.0, 0.0, -273.15, 1e308)) if numeric else 0.0
        low = rng.choice((None, None, -100.0, 0.0)) if numeric else None
        high = rng.choice((None, None, 100.0, 65535.0)) if numeric else None
        if low is not None and high is not None and low > high:
            low, high = high, low
        length = rng.randint(1, 8) if data_type == "string" else None
        return TagSpec(
            "t", table, rng.randint(0, 60000), data_type, order, scale, offset, length, low, high
        )

    def words(self, spec: TagSpec) -> list[Any]:
        """The tag's words: any 16-bit values, NaN and infinity, out of range or ill-typed."""
        rng = self.rng
        count = spec.count
        if rng.random() < 0.1:
            count = max(0, count + rng.choice((-2, -1, 1, 3, 120)))
        top = 1 if spec.table in ("coil", "discrete") else 0xFFFF
        special = (0x7FC0, 0x7F80, 0xFF80, 0x7FF8, 0xFFF0, 0x8000, 0xFFFF, 0x0000, 0x7F7F)
        odd = (-1, 65536, 2**40, 1.0, None, "1", True, False, 2, float("nan"))
        out: list[Any] = []
        for _ in range(count):
            r = rng.random()
            if r < 0.6:
                out.append(rng.randint(0, top))
            elif r < 0.95:
                out.append(rng.choice(special))
            else:
                out.append(rng.choice(odd))
        return out

    # -- MQTT payloads --------------------------------------------------------------------

    def envelope(self, edge_id: str, seq: int) -> dict[str, Any]:
        """A valid envelope of any kind, for ``edge_id`` at ``seq``."""
        envelope = copy.deepcopy(self.rng.choice(list(ENVELOPES.values())))
        envelope["edge_id"] = edge_id
        envelope["seq"] = seq
        envelope["event_id"] = str(_uuid4(self.rng))
        return envelope

    def spoil_envelope(self, envelope: dict[str, Any]) -> None:
        """Break one thing in an envelope or its payload, in place."""
        rng = self.rng
        payload = envelope.get("payload")
        target = payload if isinstance(payload, dict) and rng.random() < 0.5 else envelope
        key = rng.choice([*target, "extra"])
        op = rng.randrange(5)
        if op == 0:
            target.pop(key, None)
        elif op == 1 and target is envelope:
            envelope["kind"] = rng.choice([*ENVELOPES, "scan ", "Scan", "", "production_reports"])
        elif op == 2:
            target[key] = _deep(rng.randint(2, 300))
        else:
            target[key] = rng.choice(_WEIRD)

    def batch(
        self, edge_id: str, next_seq: int, *, topic_edge: str | None = None
    ) -> tuple[str, bytes, bool]:
        """``(claimed edge id, message, spoiled)``: a batch of events from ``next_seq``,
        most of them broken in one of many ways (``spoiled`` False: left valid)."""
        rng = self.rng
        count = rng.randint(1, 5)
        envelopes = [self.envelope(edge_id, next_seq + i) for i in range(count)]
        claimed = edge_id
        r = rng.random()
        if r < 0.25:
            return claimed, _encode(claimed, envelopes), False
        if r < 0.55:
            for _ in range(rng.randint(1, 2)):
                self.spoil_envelope(rng.choice(envelopes))
        elif r < 0.7:  # sequence: duplicates, out of order, gaps, zero
            op = rng.randrange(4)
            if op == 0:
                rng.shuffle(envelopes)
                for e in envelopes:
                    e["seq"] = max(1, e["seq"] - rng.randint(0, count + 3))
            elif op == 1:
                envelopes.append(copy.deepcopy(envelopes[0]))
            elif op == 2:
                for e in envelopes:
                    e["seq"] += rng.randint(1, 100)
            else:
                rng.choice(envelopes)["seq"] = rng.choice((0, -1, 2**63, 1.0, "1", True))
        elif r < 0.8:  # identity: envelope or batch claims another edge
            other = rng.choice(("plant1/assembly/line1/edgeX", "p/a/l", "p/a/l/e/x", "+/#/a/b"))
            if rng.random() < 0.5:
                rng.choice(envelopes)["edge_id"] = other
            else:
                claimed = other
        elif r < 0.9:  # the message as a whole
            return claimed, self._spoil_message(claimed, envelopes), True
        else:  # the bytes
            return claimed, self.spoil_bytes(_encode(claimed, envelopes)), True
        return claimed, _encode(claimed, envelopes), True

    def _spoil_message(self, edge_id: str, envelopes: list[dict[str, Any]]) -> bytes:
        rng = self.rng
        message: Any = {"v": 1, "edge_id": edge_id, "events": envelopes}
        op = rng.randrange(6)
        if op == 0:
            message["v"] = rng.choice((2, "1", 1.0, True, None))
        elif op == 1:
            message.pop(rng.choice(list(message)))
        elif op == 2:
            message["extra"] = 1
        elif op == 3:
            message["events"] = rng.choice(_WEIRD)
        elif op == 4:
            message["events"] = [rng.choice(_WEIRD) for _ in range(rng.randint(1, 4))]
        else:
            message = rng.choice((envelopes, envelopes[0], "batch", 42, None))
        return _dumps(message)

    def spoil_bytes(self, raw: bytes) -> bytes:
        rng = self.rng
        data = bytearray(raw)
        for _ in range(rng.randint(1, 6)):
            at = rng.randint(0, len(data))
            op = rng.randrange(5)
            if op == 0:
                data[at:at] = rng.randbytes(rng.randint(1, 8))
            elif op == 1:
                del data[at : at + rng.randint(1, 16)]
            elif op == 2 and data:
                data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
            elif op == 3:
                del data[at:]
            else:
                data[at:at] = rng.choice((b"{", b"[", b'"', b"\\u0000", b"\\ud800", b"\xff"))
        return bytes(data)

    def topic(self, good: str) -> str:
        """The events topic of the sender, mostly; sometimes another or a broken one."""
        rng = self.rng
        r = rng.random()
        if r < 0.9:
            return good
        return rng.choice(
            (
                good.replace("/events", "/ack"),
                good.replace("edge1", "edge2"),
                good + "/extra",
                "floorsync/v1/+/#",
                "floorsync/v2/plant1/assembly/line1/edge1/events",
                "",
                "/" * 600,
                good.replace("edge1", "e" * 70),
            )
        )


def _encode(edge_id: str, envelopes: list[dict[str, Any]]) -> bytes:
    return _dumps({"v": 1, "edge_id": edge_id, "events": envelopes})


def _dumps(value: Any) -> bytes:
    """JSON as an edge (or an attacker) might send it; the standard library writes what
    orjson refuses to: lone surrogates (escaped), integers past 64 bits, deep nesting."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def _uuid4(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)
