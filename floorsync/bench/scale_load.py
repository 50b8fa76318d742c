"""Many edges in one process: ``floorsync sim load --edges 50 --rate 200``.

It lives with the benchmarks, not in ``simulators/``: it is the edge's own uplink,
many times over, and simulators stand in for hardware without importing the edge.

Each simulated edge is the real edge's ``Uplink`` (batches, window, resend from the
last ack on a timeout or a reconnect) over an outbox kept in memory: the generator
stands in for many edges' radios, not for their disks, so one process can offer
tens of thousands of events a second. Envelopes are encoded the way the edge's
outbox encodes them (``edge.outbox.Outbox.prepare``), from the contract's example
payloads, with per-edge sequence numbers 1, 2, 3, ... and the time of recording
as ``ts``. An event leaves the outbox only when central's ack covers it, so what
central holds at the end is every event exactly once, or the run says it is not.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

import orjson

from edge.outbox import Outbox
from edge.uplink import Uplink, UplinkSettings
from protocols.contract import CONTRACT_VERSION, EdgeAddress, TopicLayout, payload_model
from protocols.contract.examples import ENVELOPES
from protocols.contract.ids import new_event_id
from protocols.mqtt import BrokerUrl

# What a station sends most: scans and reports, now and then a state change or a login.
KIND_MIX = (
    "scan",
    "production_report",
    "scan",
    "machine_state",
    "scan",
    "production_report",
    "material_issue",
    "inspection",
    "operator_login",
    "operator_logout",
)
TICK_S = 0.01  # how often the producer records what each edge owes


class MemoryOutbox:
    """What ``Uplink`` reads of an ``edge.outbox.Outbox``, kept in memory for one edge."""

    restored_seq: int | None = None  # never restored from a backup

    def __init__(self, edge_id: str, station: str) -> None:
        self.edge_id = edge_id
        self._head = b'{"v":%d,"event_id":"%%s","edge_id":%s,"seq":%%d,"ts":"%%s"' % (
            CONTRACT_VERSION,
            orjson.dumps(edge_id),
        )
        self._tails = [_tail(kind, station) for kind in KIND_MIX]
        self._rows: deque[bytes] = deque()  # seq acked_seq + 1 onwards
        self._last_seq = 0
        self._acked_seq = 0
        self._changed = threading.Condition()

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def acked_seq(self) -> int:
        return self._acked_seq

    @property
    def depth(self) -> int:
        return self._last_seq - self._acked_seq

    def record(self, count: int, ts: str) -> None:
        """Record ``count`` events that happened at ``ts`` (ISO 8601, UTC, ``Z``)."""
        with self._changed:
            for _ in range(count):
                self._last_seq += 1
                seq = self._last_seq
                head = self._head % (str(new_event_id()).encode(), seq, ts.encode())
                self._rows.append(head + self._tails[seq % len(self._tails)])
            self._changed.notify_all()

    def wait_for_new(self, after_seq: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._last_seq > after_seq, timeout)

    def read_after(self, seq: int, limit: int) -> list[tuple[int, bytes]]:
        with self._changed:
            start = max(seq, self._acked_seq) + 1
            end = min(self._last_seq, start + limit - 1)
            first = start - self._acked_seq - 1
            return [(start + n, self._rows[first + n]) for n in range(end - start + 1)]

    def ack(self, upto_seq: int) -> Future[int]:
        with self._changed:
            upto = min(upto_seq, self._last_seq)
            while self._acked_seq < upto:
                self._rows.popleft()
                self._acked_seq += 1
            done: Future[int] = Future()
            done.set_result(self._acked_seq)
            return done


def _tail(kind: str, station: str) -> bytes:
    """An envelope's bytes after ``ts``, its payload checked against the contract once."""
    payload = payload_model(kind).model_validate(ENVELOPES[kind]["payload"])
    body = orjson.dumps(
        {
            "kind": kind,
            "station": station,
            "payload": payload.model_dump(mode="json", exclude_none=True),
        }
    )
    return b"," + body[1:]


@dataclass
class SimulatedEdge:
    """One edge: its outbox in memory, the real uplink, and when each ack came."""

    address: EdgeAddress
    outbox: MemoryOutbox
    uplink: Uplink
    acked: int = 0

    def on_ack(self, acked_seq: int, _wall: float) -> None:
        self.acked = acked_seq


@dataclass
class Progress:
    """One line of the progress report: what the last second did, over all edges."""

    elapsed_s: float
    recorded: int
    sent: int
    acked: int
    outstanding: int
    resends: int
    connected: int

    def line(self) -> str:
        return (
            f"[{self.elapsed_s:6.1f}s] recorded {self.recorded:,}/s sent {self.sent:,}/s "
            f"acked {self.acked:,}/s outstanding {self.outstanding:,} "
            f"resends {self.resends} connected {self.connected}"
        )


@dataclass
class LoadResult:
    """Per edge the last seq recorded and the last one central acknowledged."""

    edges: dict[str, dict[str, int]] = field(default_factory=dict)
    produce_s: float = 0.0
    drain_s: float = 0.0
    recorded: int = 0
    acked: int = 0
    resends: int = 0
    drained: bool = False

    def as_json(self) -> dict[str, Any]:
        return self.__dict__


class LoadGenerator:
    """``edges`` simulated edges of ``site``, each recording ``rate`` events a second."""

    def __init__(
        self,
        broker: str,
        edges: int,
        rate: float,
        *,
        site: str = "load",
        topic_root: str = "floorsync",
        settings: UplinkSettings | None = None,
    ) -> None:
        if edges < 1 or rate <= 0:
            raise ValueError("--edges must be at least 1 and --rate above 0")
        url = BrokerUrl.parse(broker)
        layout = TopicLayout(root=topic_root)
        self.rate = rate
        self.edges: list[SimulatedEdge] = []
        for i in range(edges):
            # ten edges a line, as a plant would group them
            address = EdgeAddress(site, "load", f"line-{i // 10 + 1}", f"edge-{i + 1}")
            outbox = MemoryOutbox(address.path, f"ST-{i % 90 + 10}")
            # the uplink reads only what MemoryOutbox has of the real outbox
            uplink = Uplink(cast(Outbox, outbox), address, url, layout=layout, settings=settings)
            edge = SimulatedEdge(address, outbox, uplink)
            uplink.on_ack = edge.on_ack
            self.edges.append(edge)

    def start(self) -> None:
        for edge in self.edges:
            edge.uplink.start()

    def wait_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(e.uplink.connected for e in self.edges):
            if time.monotonic() > deadline:
                down = sum(not e.uplink.connected for e in self.edges)
                raise TimeoutError(f"{down} simulated edges not connected after {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        # each says goodbye and waits for its threads: all at once, not one after another
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda e: e.uplink.stop(), self.edges))

    def produce(
        self,
        seconds: float,
        say: Callable[[str], None] = print,
        stop: threading.Event | None = None,
    ) -> float:
        """Record events at the rate for ``seconds`` (or until ``stop``), reporting every
        second; the time taken."""
        stop = stop or threading.Event()
        started = time.monotonic()
        owed = 0.0
        done = 0
        report = self._reports(started, say)
        while (now := time.monotonic()) - started < seconds and not stop.is_set():
            owed = (now - started) * self.rate
            due = int(owed) - done
            if due > 0:
                ts = _utc_now()
                for edge in self.edges:
                    edge.outbox.record(due, ts)
                done += due
            report(now)
            time.sleep(max(0.0, now + TICK_S - time.monotonic()))
        return time.monotonic() - started

    def drain(self, timeout: float, say: Callable[[str], None] = print) -> tuple[bool, float]:
        """Wait until central acknowledged every recorded event; (drained, seconds)."""
        started = time.monotonic()
        report = self._reports(started, say)
        while any(e.acked < e.outbox.last_seq for e in self.edges):
            if time.monotonic() - started > timeout:
                return False, time.monotonic() - started
            report(time.monotonic())
            time.sleep(0.05)
        return True, time.monotonic() - started

    def _reports(self, started: float, say: Callable[[str], None]) -> Callable[[float], None]:
        """A function of the time now that says a progress line once a second."""
        last_at, last = started, self._totals()

        def tick(now: float) -> None:
            nonlocal last_at, last
            if now - last_at < 1.0:
                return
            totals = self._totals()
            recorded, sent, acked = (
                round((b - a) / (now - last_at)) for a, b in zip(last, totals, strict=True)
            )
            say(
                Progress(
                    now - started,
                    recorded,
                    sent,
                    acked,
                    sum(e.outbox.depth for e in self.edges),
                    sum(e.uplink.resends for e in self.edges),
                    sum(e.uplink.connected for e in self.edges),
                ).line()
            )
            last_at, last = now, totals

        return tick

    def _totals(self) -> tuple[int, int, int]:
        return (
            sum(e.outbox.last_seq for e in self.edges),
            sum(e.uplink.events_sent for e in self.edges),
            sum(e.acked for e in self.edges),
        )

    def result(self) -> LoadResult:
        return LoadResult(
            edges={
                e.address.path: {"last_seq": e.outbox.last_seq, "acked_seq": e.acked}
                for e in self.edges
            },
            recorded=sum(e.outbox.last_seq for e in self.edges),
            acked=sum(e.acked for e in self.edges),
            resends=sum(e.uplink.resends for e in self.edges),
        )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def main(args: Any) -> int:
    """``floorsync sim load``: 0 when central acknowledged every event, 1 when not, 2 on bad
    options."""
    try:
        generator = LoadGenerator(args.broker, args.edges, args.rate, site=args.site)
    except ValueError as exc:
        print(f"floorsync sim load: {exc}", file=sys.stderr)
        return 2
    if args.duration <= 0:
        print("floorsync sim load: --duration must be above 0", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    say = partial(print, flush=True)
    generator.start()
    try:
        generator.wait_connected(30.0)
        say(
            f"{args.edges} edges of {args.site!r} connected to {BrokerUrl.parse(args.broker)}; "
            f"offering {args.edges * args.rate:,.0f} events/s for {args.duration:g} s"
        )
        produced = generator.produce(args.duration, say, stop)
        drained, drain_s = generator.drain(args.drain_timeout, say)
    except TimeoutError as exc:
        print(f"floorsync sim load: {exc}", file=sys.stderr)
        return 1
    finally:
        generator.stop()
    result = generator.result()
    result.produce_s, result.drain_s, result.drained = produced, drain_s, drained
    say(
        f"recorded {result.recorded:,} events in {produced:.1f} s "
        f"({result.recorded / produced:,.0f}/s); acknowledged {result.acked:,}; "
        f"resends {result.resends}; "
        + (
            f"all acknowledged {drain_s:.1f} s after the load"
            if drained
            else "NOT all acknowledged"
        )
    )
    if args.json:
        args.json.write_bytes(orjson.dumps(result.as_json(), option=orjson.OPT_INDENT_2))
    return 0 if drained else 1
