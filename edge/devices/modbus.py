"""A Modbus TCP or RTU slave as a coordinator: coalesced block reads, per-tag quality.

The codec and the block plan live in ``protocols.modbus``; this module only moves
words over the wire with pymodbus and turns its failures into ``DeviceError``:

* no reply in time (or a garbled one): retried ``retries`` times, then ``DeviceError``;
* a Modbus exception response or a lost connection: ``DeviceError`` at once;
* a tag whose words do not decode (out of range, not a finite number): that tag's
  reading is ``bad`` and the others stay ``good``.
"""

from __future__ import annotations

import logging
import termios
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pymodbus import FramerType, ModbusException
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import ModbusPDU

from edge.devices.base import Coordinator, DeviceError, Reading, now_utc
from protocols.modbus import Block, RegisterError, Table, TagSpec, decode, plan_blocks, slice_block

__all__ = ["ModbusCoordinator", "ModbusRtu", "ModbusTcp"]

log = logging.getLogger(__name__)

Reader = Callable[..., Awaitable[ModbusPDU]]


@dataclass(frozen=True)
class ModbusTcp:
    """Where a Modbus TCP slave listens."""

    host: str
    port: int = 502

    def __str__(self) -> str:
        return f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class ModbusRtu:
    """The serial line of a Modbus RTU slave."""

    port: str
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    bytesize: int = 8

    def __str__(self) -> str:
        return f"rtu://{self.port}@{self.baudrate}/{self.bytesize}{self.parity}{self.stopbits}"


@dataclass(kw_only=True)
class ModbusCoordinator(Coordinator):
    """Polls one Modbus slave: every tag, in as few block reads as the plan allows.

    ``timeout_s`` is the wait for one reply; ``retries`` more requests follow a
    missing reply before the poll fails; ``poll_timeout_s`` bounds a whole poll.
    ``requests`` counts requests sent.
    """

    link: ModbusTcp | ModbusRtu
    tags: Sequence[TagSpec]
    unit: int = 1
    max_block: int | None = None
    max_gap: int = 0
    retries: int = 1
    blocks: list[Block] = field(init=False)
    requests: int = field(default=0, init=False)
    _client: ModbusBaseClient | None = field(default=None, init=False, repr=False)
    _bad_tags: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.unit <= 247:
            raise ValueError(f"device {self.name!r}: unit {self.unit} outside 0..247")
        if self.retries < 0:
            raise ValueError(f"device {self.name!r}: retries must not be negative")
        if not self.tags:
            raise ValueError(f"device {self.name!r}: no tags to read")
        # Planned once: the tag list is configuration, fixed for the coordinator's life.
        self.blocks = plan_blocks(self.tags, max_block=self.max_block, max_gap=self.max_gap)

    @property
    def poll_timeout_s(self) -> float:
        """Longest a healthy-but-slow poll may take: every block, every attempt."""
        return self.timeout_s * (self.retries + 1) * len(self.blocks)

    async def connect(self) -> None:
        """Open the TCP connection or the serial port."""
        client = self._make_client()
        try:
            connected = await client.connect()
        except termios.error as exc:  # serial settings the port refuses (a pty takes no parity)
            client.close()
            raise DeviceError(f"cannot set up {self.link}: {exc}") from None
        if not connected:
            client.close()
            raise DeviceError(f"cannot connect to {self.link}")
        self._client = client

    async def close(self) -> None:
        """Drop the connection; ``connect`` opens a fresh one."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def poll(self) -> list[Reading]:
        """Read every block once and decode every tag."""
        client = self._client
        if client is None or not client.connected:
            raise DeviceError(f"not connected to {self.link}")
        readings: list[Reading] = []
        for block in self.blocks:
            values = await self._read_block(client, block)
            at = now_utc()
            try:
                words = slice_block(block, values)
            except RegisterError as exc:  # a reply of the wrong length is a broken reply
                raise DeviceError(str(exc)) from None
            readings.extend(self._reading(tag, words[tag.name], at) for tag in block.tags)
        return readings

    def _make_client(self) -> ModbusBaseClient:
        # pymodbus neither retries nor reconnects by itself: the retry loop here and the
        # back-off in Coordinator.run keep one policy, visible in the device's health.
        link = self.link
        if isinstance(link, ModbusTcp):
            return AsyncModbusTcpClient(
                link.host,
                port=link.port,
                name=self.name,
                timeout=self.timeout_s,
                retries=0,
                reconnect_delay=0,
            )
        return AsyncModbusSerialClient(
            link.port,
            framer=FramerType.RTU,
            baudrate=link.baudrate,
            bytesize=link.bytesize,
            parity=link.parity,
            stopbits=link.stopbits,
            name=self.name,
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,
        )

    async def _read_block(self, client: ModbusBaseClient, block: Block) -> Sequence[int]:
        read = _reader(client, block.table)
        where = f"{block.table} {block.start}+{block.count} on unit {self.unit}"
        for _ in range(self.retries + 1):
            self.requests += 1
            try:
                response = await read(block.start, count=block.count, device_id=self.unit)
            except ModbusIOException:  # no reply in time: a lost frame is worth another try
                continue
            except ModbusException as exc:
                raise DeviceError(f"{where}: {exc}") from None
            if response.isError():
                raise DeviceError(f"{where}: exception {_exception_name(response.exception_code)}")
            return response.bits if block.table in ("coil", "discrete") else response.registers
        raise DeviceError(f"{where}: no reply after {self.retries + 1} request(s)")

    def _reading(self, tag: TagSpec, words: list[int], at: datetime) -> Reading:
        try:
            value = decode(tag, words)
        except RegisterError as exc:
            if tag.name not in self._bad_tags:
                self._bad_tags.add(tag.name)
                log.warning(
                    "tag value refused",
                    extra={"device": self.name, "tag": tag.name, "error": str(exc)},
                )
            return Reading(self.name, tag.name, None, "bad", at)
        if tag.name in self._bad_tags:
            self._bad_tags.discard(tag.name)
            log.info("tag value good again", extra={"device": self.name, "tag": tag.name})
        return Reading(self.name, tag.name, value, "good", at)


def _reader(client: ModbusBaseClient, table: Table) -> Reader:
    readers: dict[Table, Reader] = {
        "holding": client.read_holding_registers,
        "input": client.read_input_registers,
        "coil": client.read_coils,
        "discrete": client.read_discrete_inputs,
    }
    return readers[table]


def _exception_name(code: int) -> str:
    try:
        return f"{ExcCodes(code).name} ({code})"
    except ValueError:
        return str(code)
