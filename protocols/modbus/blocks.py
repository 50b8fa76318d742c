"""Plan as few Modbus block reads as possible for a device's tags, and slice the results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from protocols.modbus.codec import BIT_TABLES, RegisterError, Table, TagSpec

__all__ = ["MAX_BITS", "MAX_REGISTERS", "Block", "plan_blocks", "slice_block"]

# Protocol limits per request (Modbus application protocol spec, functions 1-4).
MAX_REGISTERS = 125
MAX_BITS = 2000


@dataclass(frozen=True)
class Block:
    """One read request: ``count`` registers (or bits) of ``table`` from ``start``."""

    table: Table
    start: int
    count: int
    tags: tuple[TagSpec, ...]

    @property
    def end(self) -> int:
        """First address after this block."""
        return self.start + self.count


def plan_blocks(
    tags: Iterable[TagSpec], *, max_block: int | None = None, max_gap: int = 0
) -> list[Block]:
    """Coalesce tags into blocks, per table, in address order.

    A block never splits a tag, spans at most ``max_block`` addresses (default:
    the protocol limit of its table) and contains no run of more than ``max_gap``
    addresses that no tag needs. Greedy in address order, which is the fewest
    blocks for tags that do not overlap.
    """
    tag_list = list(tags)
    names = [tag.name for tag in tag_list]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"tag names must be unique; repeated: {duplicates}")
    if max_block is not None and max_block < 1:
        raise ValueError(f"max_block must be at least 1, got {max_block}")
    if max_gap < 0:
        raise ValueError(f"max_gap must not be negative, got {max_gap}")
    blocks: list[Block] = []
    for table in sorted({tag.table for tag in tag_list}):
        limit = max_block or (MAX_BITS if table in BIT_TABLES else MAX_REGISTERS)
        ordered = sorted(
            (t for t in tag_list if t.table == table), key=lambda t: (t.address, -t.end)
        )
        blocks.extend(_plan_table(ordered, limit, max_gap))
    return blocks


def _plan_table(ordered: list[TagSpec], limit: int, max_gap: int) -> list[Block]:
    blocks: list[Block] = []
    members: list[TagSpec] = []
    start = end = 0
    for tag in ordered:
        if tag.count > limit:
            raise ValueError(
                f"tag {tag.name!r} needs {tag.count} addresses, more than max_block {limit}"
            )
        new_end = max(end, tag.end)
        if members and tag.address - end <= max_gap and new_end - start <= limit:
            members.append(tag)
            end = new_end
            continue
        if members:
            blocks.append(Block(members[0].table, start, end - start, tuple(members)))
        members, start, end = [tag], tag.address, tag.end
    if members:
        blocks.append(Block(members[0].table, start, end - start, tuple(members)))
    return blocks


def slice_block(block: Block, values: Sequence[int]) -> dict[str, list[int]]:
    """Cut a block's read result into each tag's words (or bits), by tag name."""
    # pymodbus pads coil and discrete replies to whole bytes, so bit reads may be longer.
    too_long = len(values) > block.count and block.table not in BIT_TABLES
    if len(values) < block.count or too_long:
        raise RegisterError(
            f"{block.table} block at {block.start}: expected {block.count} values, "
            f"got {len(values)}"
        )
    return {
        tag.name: list(values[tag.address - block.start : tag.end - block.start])
        for tag in block.tags
    }
