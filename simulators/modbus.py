"""A simulated Modbus machine: pymodbus's server over TCP or over a pseudo-terminal (RTU).

The register map is plain data (tags with initial values, written with the same codec
the edge reads with). Production is a pure function of running time, so counters are
exact whatever the poll timing: ``rate`` good pieces/s and ``scrap_rate`` scrap
pieces/s while the state is ``running``, on 16- or 32-bit counters that roll over.

The machine's own memory is the truth; pymodbus's datastore is refreshed from it in
the device ``action`` hook before each request is served. Silence (``stop_answering``)
raises ``NoSuchIdException`` there, which a server with ``ignore_missing_devices``
answers with nothing at all: the client times out, as with a dead slave on a real bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
import tty
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusBaseServer, ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from protocols.modbus import Table, TagSpec, Value, encode

__all__ = ["STATES", "ModbusMachine", "Production"]

STATES: dict[str, int] = {"idle": 0, "running": 1, "setup": 2, "down": 3}
_TABLES: tuple[Table, ...] = ("coil", "discrete", "holding", "input")  # pymodbus's tuple order
_FUNCTION_TABLE: dict[int, Table] = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 4: "input"}
_WRITES = frozenset({5, 6, 15, 16})


@dataclass(frozen=True)
class Production:
    """Which registers count pieces and show the state, and how fast pieces come."""

    good: TagSpec
    scrap: TagSpec | None = None
    state: TagSpec | None = None
    rate: float = 1.0
    scrap_rate: float = 0.0
    good_start: int = 0  # the counter's value at start, e.g. just below a rollover

    def __post_init__(self) -> None:
        for tag in (self.good, self.scrap):
            if tag is not None and tag.data_type not in ("uint16", "uint32"):
                raise ValueError(f"counter tag {tag.name!r} must be uint16 or uint32")
        if not (math.isfinite(self.rate) and self.rate >= 0 and self.scrap_rate >= 0):
            raise ValueError("rates must be non-negative pieces/s")


class _Memory:
    """One table's words (registers, or bits packed 16 to a word) from ``start``."""

    def __init__(self, table: Table, tags: Sequence[TagSpec]) -> None:
        self.bits = table in ("coil", "discrete")
        low = min((t.address for t in tags), default=0)
        high = max((t.end for t in tags), default=1)
        # Bit blocks start on a 16-bit boundary, as pymodbus lays them out.
        self.start = low - low % 16 if self.bits else low
        self.size = -(-(high - self.start) // 16) * 16 if self.bits else high - self.start
        self.values = [0] * self.size  # one int per register or per bit

    def sim_data(self) -> SimData:
        if self.bits:
            return SimData(self.start, values=[False] * self.size, datatype=DataType.BITS)
        return SimData(self.start, count=self.size, values=0, datatype=DataType.REGISTERS)

    def write(self, address: int, values: Sequence[int]) -> None:
        offset = address - self.start
        self.values[offset : offset + len(values)] = [int(v) for v in values]

    def words(self, first: int, count: int) -> list[int]:
        """``count`` datastore words from the datastore's word index ``first``."""
        if not self.bits:
            return self.values[first : first + count]
        return [
            sum(1 << i for i, bit in enumerate(self.values[16 * w : 16 * w + 16]) if bit)
            for w in range(first, first + count)
        ]


class ModbusMachine:
    """A Modbus slave with a register map, piece counters, a state word and a silence switch."""

    def __init__(
        self,
        tags: Sequence[tuple[TagSpec, Value]] = (),
        *,
        production: Production | None = None,
        unit: int = 1,
        transport: Literal["tcp", "rtu"] = "tcp",
        host: str = "127.0.0.1",
        port: int = 0,
        state: str = "running",
    ) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; use one of {sorted(STATES)}")
        self.production = production
        self.unit = unit
        self.transport = transport
        self.host = host
        self.port = port
        self.device = ""  # the serial port a client opens, once an RTU machine has started
        self.requests = 0
        self.state = state
        self._specs = {spec.name: spec for spec, _ in tags}
        every = [spec for spec, _ in tags]
        if production is not None:
            every += [t for t in (production.good, production.scrap, production.state) if t]
        self._memory = {t: _Memory(t, [s for s in every if s.table == t]) for t in _TABLES}
        for spec, value in tags:
            self.set(spec.name, value)
        self._answering = True
        self._drop = 0
        self._good_start = production.good_start if production else 0
        self._running_s = 0.0
        self._running_since = time.monotonic() if state == "running" else None
        self._reset_good = self._reset_scrap = 0
        self._server: ModbusBaseServer | None = None
        self._pty: _PtyLink | None = None

    async def start(self) -> None:
        """Listen on the TCP port (``port`` 0 picks a free one) or the pty; returns when ready."""
        coil, discrete, holding, inp = ([self._memory[t].sim_data()] for t in _TABLES)
        device = SimDevice(self.unit, simdata=(coil, discrete, holding, inp), action=self._action)
        if self.transport == "tcp":
            server: ModbusBaseServer = ModbusTcpServer(
                device, address=(self.host, self.port), ignore_missing_devices=True
            )
        else:
            self._pty = _PtyLink()
            self.device = self._pty.client_path
            server = ModbusSerialServer(
                device,
                port=self._pty.server_path,
                framer=FramerType.RTU,
                ignore_missing_devices=True,
            )
        try:
            await server.serve_forever(background=True)
        except BaseException:
            await self.stop()
            raise
        self._server = server
        if self.transport == "tcp":
            self.port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Close the server and every connection to it."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    def set(self, tag: str, value: Value) -> None:
        """Write a tag's value, encoded as the edge will decode it."""
        spec = self._specs[tag]
        self.set_words(spec.table, spec.address, encode(spec, value))

    def set_words(self, table: Table, address: int, words: Sequence[int]) -> None:
        """Write raw words (or bits), e.g. ones that no valid value encodes to."""
        self._memory[table].write(address, words)

    def set_state(self, state: str) -> None:
        """Change the machine state; pieces are made only while ``running``."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; use one of {sorted(STATES)}")
        now = time.monotonic()
        if self._running_since is not None:
            self._running_s += now - self._running_since
        self._running_since = now if state == "running" else None
        self.state = state

    def reset(self) -> None:
        """Counters back to 0, as after a PLC restart; the pieces made stay made."""
        self._reset_good, self._reset_scrap = self.good_made, self.scrap_made
        self._good_start = 0

    def stop_answering(self) -> None:
        """Ignore every request from now on: clients time out."""
        self._answering = False

    def resume(self) -> None:
        """Answer requests again."""
        self._answering = True
        self._drop = 0

    def drop_replies(self, count: int) -> None:
        """Ignore the next ``count`` requests only, like frames lost on a noisy line."""
        self._drop = count

    @property
    def good_made(self) -> int:
        """Good pieces made since start (the truth a counter reader must book)."""
        return math.floor(self._running() * self.production.rate) if self.production else 0

    @property
    def scrap_made(self) -> int:
        """Scrap pieces made since start."""
        return math.floor(self._running() * self.production.scrap_rate) if self.production else 0

    def _running(self) -> float:
        since = self._running_since
        return self._running_s + (time.monotonic() - since if since is not None else 0.0)

    def _refresh(self) -> None:
        production = self.production
        if production is None:
            return
        for tag, value in (
            (production.good, self._good_start + self.good_made - self._reset_good),
            (production.scrap, self.scrap_made - self._reset_scrap),
            (production.state, STATES[self.state]),
        ):
            if tag is not None:
                wrapped = value % 2 ** (16 * tag.count)
                self._memory[tag.table].write(tag.address, encode(tag, wrapped))

    async def _action(
        self,
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.requests += 1
        if not self._answering or self._drop > 0:
            self._drop = max(0, self._drop - 1)
            raise NoSuchIdException("the machine is not answering")
        table = _FUNCTION_TABLE.get(function_code, "holding")
        memory = self._memory[table]
        if set_values is not None and function_code in _WRITES:
            memory.write(address, [int(v) for v in set_values])
            return None
        self._refresh()
        # For bit tables pymodbus passes the word index of the block and a word count.
        first = (address // 16 if memory.bits else address) - start
        registers[first : first + count] = memory.words(first, count)
        return None


class _PtyLink:
    """Two pseudo-terminals joined like a null-modem cable: server on one, edge on the other."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        masters, paths = [], []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo or line editing before pyserial configures the port
            os.set_blocking(master, False)
            self._fds += [master, slave]  # the slave stays open so the master never sees EIO
            masters.append(master)
            paths.append(os.ttyname(slave))
        self.server_path, self.client_path = paths
        self._loop = asyncio.get_running_loop()
        self._masters = masters
        self._loop.add_reader(masters[0], self._relay, masters[0], masters[1])
        self._loop.add_reader(masters[1], self._relay, masters[1], masters[0])

    @staticmethod
    def _relay(source: int, target: int) -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(source, 4096)
            while data:  # frames are at most 256 bytes; a pty takes them whole
                data = data[os.write(target, data) :]

    def close(self) -> None:
        for master in self._masters:
            self._loop.remove_reader(master)
        for fd in self._fds:
            os.close(fd)
