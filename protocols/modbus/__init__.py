"""Modbus device vocabulary: register codec and block planning, no sockets."""

from protocols.modbus.blocks import MAX_BITS, MAX_REGISTERS, Block, plan_blocks, slice_block
from protocols.modbus.codec import (
    ByteOrder,
    DataType,
    RegisterError,
    Table,
    TagSpec,
    Value,
    decode,
    encode,
    register_count,
)

__all__ = [
    "MAX_BITS",
    "MAX_REGISTERS",
    "Block",
    "ByteOrder",
    "DataType",
    "RegisterError",
    "Table",
    "TagSpec",
    "Value",
    "decode",
    "encode",
    "plan_blocks",
    "register_count",
    "slice_block",
]
