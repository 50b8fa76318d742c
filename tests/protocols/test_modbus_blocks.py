"""Block planner: fewest reads, no split tags, limits respected, results sliced back."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.modbus import (
    MAX_BITS,
    MAX_REGISTERS,
    Block,
    DataType,
    RegisterError,
    TagSpec,
    decode,
    encode,
    plan_blocks,
    slice_block,
)


def reg(name: str, address: int, data_type: DataType = "uint16", **kwargs: object) -> TagSpec:
    return TagSpec(name, "holding", address, data_type, **kwargs)  # type: ignore[arg-type]


def spans(blocks: list[Block]) -> list[tuple[str, int, int, list[str]]]:
    return [(b.table, b.start, b.count, [t.name for t in b.tags]) for b in blocks]


@pytest.mark.parametrize(
    ("tags", "max_block", "max_gap", "expected"),
    [
        ([], None, 0, []),
        # contiguous tags share one block
        ([reg("a", 0), reg("b", 1, "float32"), reg("c", 3)], None, 0,
         [("holding", 0, 4, ["a", "b", "c"])]),
        # a gap of 2 splits at max_gap 1, joins at max_gap 2
        ([reg("a", 0), reg("b", 3)], None, 1,
         [("holding", 0, 1, ["a"]), ("holding", 3, 1, ["b"])]),
        ([reg("a", 0), reg("b", 3)], None, 2, [("holding", 0, 4, ["a", "b"])]),
        # input order does not matter
        ([reg("b", 3), reg("a", 0)], None, 5, [("holding", 0, 4, ["a", "b"])]),
        # max_block would be crossed by the float32 at 9: it moves whole to the next block
        ([reg("a", 0), reg("b", 9, "float32")], 10, 100,
         [("holding", 0, 1, ["a"]), ("holding", 9, 2, ["b"])]),
        ([reg("a", 0), reg("b", 8, "float32")], 10, 100, [("holding", 0, 10, ["a", "b"])]),
        # overlapping views of the same registers share a block
        ([reg("whole", 10, "uint32"), reg("high", 10), reg("low", 11)], None, 0,
         [("holding", 10, 2, ["whole", "high", "low"])]),
        # tables are planned separately, with their own default limits
        ([reg("a", 0), TagSpec("x", "input", 1, "int16"), TagSpec("run", "coil", 0, "bool"),
          TagSpec("alarm", "coil", 1999, "bool")], None, 10_000,
         [("coil", 0, 2000, ["run", "alarm"]), ("holding", 0, 1, ["a"]),
          ("input", 1, 1, ["x"])]),
        ([reg("a", 0), reg("b", 124)], None, 10_000, [("holding", 0, 125, ["a", "b"])]),
        ([reg("a", 0), reg("b", 125)], None, 10_000,
         [("holding", 0, 1, ["a"]), ("holding", 125, 1, ["b"])]),
    ],
)  # fmt: skip
def test_plans(
    tags: list[TagSpec],
    max_block: int | None,
    max_gap: int,
    expected: list[tuple[str, int, int, list[str]]],
) -> None:
    assert spans(plan_blocks(tags, max_block=max_block, max_gap=max_gap)) == expected


def test_tag_longer_than_block_is_refused() -> None:
    with pytest.raises(ValueError, match="more than max_block 2"):
        plan_blocks([reg("a", 0, "float64")], max_block=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_block": 0}, "max_block"), ({"max_gap": -1}, "max_gap")],
)
def test_bad_limits_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_blocks([reg("a", 0)], **kwargs)


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="repeated"):
        plan_blocks([reg("a", 0), reg("a", 5)])


def test_slice_and_decode() -> None:
    tags = [reg("count", 0, "uint32", byte_order="CDAB"), reg("temp", 3, "int16", scale=0.1)]
    (block,) = plan_blocks(tags, max_gap=1)
    words = [0x5678, 0x1234, 0xDEAD, 215]
    parts = slice_block(block, words)
    assert parts == {"count": [0x5678, 0x1234], "temp": [215]}
    assert decode(tags[0], parts["count"]) == 0x12345678
    assert decode(tags[1], parts["temp"]) == pytest.approx(21.5)


def test_slice_accepts_padded_bit_replies() -> None:
    (block,) = plan_blocks(
        [TagSpec("a", "coil", 0, "bool"), TagSpec("b", "coil", 2, "bool")], max_gap=1
    )
    assert slice_block(block, [True, False, False, False, False, False, False, False]) == {
        "a": [True],
        "b": [False],
    }


@pytest.mark.parametrize("values", [[1, 2], [1, 2, 3, 4]])
def test_slice_refuses_wrong_register_count(values: list[int]) -> None:
    (block,) = plan_blocks([reg("a", 0), reg("b", 2)], max_gap=1)
    with pytest.raises(RegisterError, match="expected 3 values"):
        slice_block(block, values)


tag_layouts = st.lists(
    st.tuples(st.integers(0, 400), st.sampled_from(["uint16", "int32", "float64"])),
    max_size=25,
)


@given(tag_layouts, st.integers(4, 130), st.integers(0, 10))
def test_every_tag_read_whole_once_within_limits(
    layout: list[tuple[int, DataType]], max_block: int, max_gap: int
) -> None:
    tags = [reg(f"t{i}", address, data_type) for i, (address, data_type) in enumerate(layout)]
    blocks = plan_blocks(tags, max_block=max_block, max_gap=max_gap)
    placed = [t for b in blocks for t in b.tags]
    assert sorted(t.name for t in placed) == sorted(t.name for t in tags)
    for block in blocks:
        assert block.count <= max_block
        assert all(block.start <= t.address and t.end <= block.end for t in block.tags)
        used = {a for t in block.tags for a in range(t.address, t.end)}
        assert block.start in used and block.end - 1 in used
        gap = 0
        for address in range(block.start, block.end):
            gap = 0 if address in used else gap + 1
            assert gap <= max_gap


def fewest_blocks(tags: list[TagSpec], max_block: int, max_gap: int) -> int:
    """Brute force over contiguous groups (enough for tags that do not overlap)."""
    ordered = sorted(tags, key=lambda t: t.address)
    best = [0] + [len(ordered) + 1] * len(ordered)
    for j in range(1, len(ordered) + 1):
        for i in range(j):
            group = ordered[i:j]
            fits = group[-1].end - group[0].address <= max_block and all(
                b.address - a.end <= max_gap for a, b in pairwise(group)
            )
            if fits:
                best[j] = min(best[j], best[i] + 1)
    return best[-1]


@given(
    st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["uint16", "int32"])), max_size=12),
    st.integers(2, 12),
    st.integers(0, 4),
)
def test_plan_is_fewest_blocks_for_disjoint_tags(
    layout: list[tuple[int, DataType]], max_block: int, max_gap: int
) -> None:
    tags, address = [], 0
    for i, (gap, data_type) in enumerate(layout):
        tags.append(reg(f"t{i}", address + gap, data_type))
        address = tags[-1].end
    blocks = plan_blocks(tags, max_block=max_block, max_gap=max_gap)
    assert len(blocks) == fewest_blocks(tags, max_block, max_gap)


@given(st.lists(st.integers(0, 65535), min_size=8, max_size=8))
def test_slices_decode_like_direct_reads(words: list[int]) -> None:
    tags = [reg("a", 0, "int32", byte_order="DCBA"), reg("b", 2), reg("c", 5, "int16")]
    (block,) = plan_blocks(tags, max_gap=2)
    padded = words[: block.count]
    parts = slice_block(block, padded)
    assert decode(tags[0], parts["a"]) == decode(tags[0], padded[0:2])
    assert encode(tags[2], decode(tags[2], parts["c"])) == [padded[5]]


def test_limits_are_the_protocol_limits() -> None:
    assert (MAX_REGISTERS, MAX_BITS) == (125, 2000)
