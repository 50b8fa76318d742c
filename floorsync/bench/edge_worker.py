"""Internal: the edge side of ``floorsync bench sync``, alone in a process so its RSS is its own.

    python -m floorsync.bench.edge_worker {durable,latency,backlog} --broker URL --db PATH ...

It builds the edge's ``Writer``, ``Outbox`` and ``Uplink`` directly, prints JSON lines on
stdout (``progress``, ``mark``, then ``result`` or ``error``) and exits when its stdin closes.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import random
import sys
import threading
import time
import traceback
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from edge.outbox import Outbox, Recorded
from edge.store import Writer
from edge.uplink import Uplink, UplinkSettings
from floorsync import logs
from floorsync.bench.common import (
    emit,
    exit_when_parent_goes,
    percentile,
    production_reports,
    rss_mib,
    stations,
)
from protocols.contract import EdgeAddress
from protocols.mqtt import BrokerUrl

STALL_S = 60.0  # no ack progress for this long is an error, not a measurement
PROGRESS_S = 3.0


class BenchEdge:
    """One edge's Writer + Outbox + Uplink, with the hooks the bench watches them through."""

    def __init__(
        self,
        db: Path,
        broker: str,
        name: str,
        settings: UplinkSettings,
        *,
        keep_acks: bool = False,
    ) -> None:
        self.address = EdgeAddress("bench", "sync", "line-1", name)
        self.writer = Writer(db)
        self.outbox = Outbox(self.writer, self.address.path)
        self.keep_acks = keep_acks  # off where RSS is measured: the bench must not grow it
        self.acks: list[tuple[int, float]] = []  # (acked_seq, wall time received), ascending
        self.acked = self.outbox.acked_seq
        self._acked = threading.Condition()
        self.uplink = Uplink(
            self.outbox,
            self.address,
            BrokerUrl.parse(broker),
            settings=settings,
            on_ack=self._on_ack,
        )
        self.payloads = production_reports(1000)
        self.stations = stations()

    def _on_ack(self, acked_seq: int, wall: float) -> None:
        with self._acked:
            self.acked = acked_seq
            if self.keep_acks:
                self.acks.append((acked_seq, wall))
            self._acked.notify_all()

    def connect(self, timeout: float = 30.0) -> None:
        self.uplink.start()
        deadline = time.monotonic() + timeout
        while not self.uplink.connected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"uplink did not connect within {timeout:.0f} s")
            time.sleep(0.01)

    def submit(self, i: int) -> Future[Recorded]:
        return self.outbox.submit(
            "production_report",
            self.stations[i % len(self.stations)],
            self.payloads[i % len(self.payloads)],
        )

    def status(self) -> str:
        last, acked = self.outbox.last_seq, self.acked
        return (
            f"last_seq {last:,} acked {acked:,} depth {last - acked:,} "
            f"rss {rss_mib():.0f} MiB resends {self.uplink.resends}"
        )

    def wait_until(self, done: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        """Until ``done()``; an error if acks stall for STALL_S or ``timeout`` passes."""
        started = last_change = next_report = time.monotonic()
        next_report += PROGRESS_S
        seen = self.acked
        while not done():
            with self._acked:
                self._acked.wait(0.05)
            now, acked = time.monotonic(), self.acked
            if acked != seen:
                seen, last_change = acked, now
            elif now - last_change > STALL_S:
                raise RuntimeError(f"{what}: no ack for {STALL_S:.0f} s ({self.status()})")
            if timeout is not None and now - started > timeout:
                raise RuntimeError(f"{what}: not done within {timeout:.0f} s ({self.status()})")
            if now >= next_report:
                emit("progress", msg=f"{what}: {self.status()}")
                next_report += PROGRESS_S

    def wait_acked(self, target: int, what: str) -> None:
        """Until central acknowledged ``target`` and the edge committed the delete behind it."""
        self.wait_until(lambda: self.acked >= target, what)
        while self.outbox.acked_seq < target:
            time.sleep(0.0005)
        self.writer.run(lambda _conn: None)  # the delete's group is committed before this one

    def close(self) -> None:
        self.uplink.stop()
        self.outbox.close()
        self.writer.close()


def produce(edge: BenchEdge, count: int, producers: int, window: int, what: str) -> float:
    """Append ``count`` events from ``producers`` threads, each with ``window`` appends in flight.

    An event counts only once its commit future resolved. Returns the seconds it took.
    """
    done = [0] * producers
    errors: list[BaseException] = []

    def run(k: int) -> None:
        pending: deque[Future[Recorded]] = deque()
        try:
            for i in range(k, count, producers):
                if len(pending) >= window:
                    pending.popleft().result()
                    done[k] += 1
                pending.append(edge.submit(i))
            while pending:
                pending.popleft().result()
                done[k] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(k,), name=f"producer-{k}", daemon=True)
        for k in range(producers)
    ]
    started = time.monotonic()
    next_report = started + PROGRESS_S
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)
            if time.monotonic() >= next_report:
                emit("progress", msg=f"{what}: appended {sum(done):,}/{count:,}; {edge.status()}")
                next_report += PROGRESS_S
    if errors:
        raise RuntimeError(f"{what}: an append failed: {errors[0]!r}") from errors[0]
    return time.monotonic() - started


class Reservoir:
    """A uniform sample of fixed size from a stream of values: fixed memory, honest RSS."""

    def __init__(self, size: int = 20_000) -> None:
        self.size, self.count = size, 0
        self.values = array("d", bytes(8 * size))
        self._random = random.Random(11)

    def add(self, value: float) -> None:
        if self.count < self.size:
            self.values[self.count] = value
        else:
            slot = self._random.randrange(self.count + 1)
            if slot < self.size:
                self.values[slot] = value
        self.count += 1

    def sample(self) -> list[float]:
        return list(self.values[: min(self.count, self.size)])


class Paced:
    """A steady producer, like stations at ``rate`` events/s.

    It samples each event's append latency (submit -> commit) and, with ``record_commits``,
    notes when each event committed, by sequence number (memory grows with the events).
    """

    def __init__(
        self, edge: BenchEdge, rate: float, first_index: int = 0, *, record_commits: bool = False
    ) -> None:
        self.edge, self.rate, self.index = edge, rate, first_index
        self.commit_wall: dict[int, float] | None = {} if record_commits else None
        self.append_s = Reservoir()  # submit -> commit
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-producer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop producing and wait until everything it submitted is committed."""
        self._stop.set()
        self._thread.join()
        self.edge.writer.run(lambda _conn: None)
        if self.errors:
            raise RuntimeError(f"an append failed: {self.errors[0]!r}") from self.errors[0]

    def _committed(self, submitted: float, future: Future[Recorded]) -> None:
        wall, now = time.time(), time.perf_counter()
        exc = future.exception()
        if exc is not None:
            self.errors.append(exc)
            return
        if self.commit_wall is not None:
            self.commit_wall[future.result().seq] = wall
        self.append_s.add(now - submitted)

    def _run(self) -> None:
        started, sent = time.monotonic(), 0
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self.rate) + 1
            while sent < due:
                future = self.edge.submit(self.index)
                future.add_done_callback(partial(self._committed, time.perf_counter()))
                self.index += 1
                sent += 1
            time.sleep(max(0.0, started + sent / self.rate - time.monotonic()))


def ms_stats(seconds: list[float], prefix: str) -> dict[str, float]:
    values = sorted(seconds)
    return {
        f"{prefix}_p50_ms": percentile(values, 50) * 1000,
        f"{prefix}_p99_ms": percentile(values, 99) * 1000,
        f"{prefix}_max_ms": (values[-1] if values else float("nan")) * 1000,
    }


# -- modes ---------------------------------------------------------------------


def durable(edge: BenchEdge, args: argparse.Namespace) -> dict[str, Any]:
    """N events from concurrent producers; time from the first append until the outbox is empty."""
    edge.connect()
    commits = edge.writer.commits
    emit("mark", name="start")
    started = time.monotonic()
    append_s = produce(edge, args.events, args.producers, args.window, "durable")
    edge.wait_acked(args.events, "durable")
    seconds = time.monotonic() - started
    emit("mark", name="end")
    depth = edge.outbox.stats().depth
    if depth:
        raise RuntimeError(f"outbox not empty after the last ack: {depth} rows")
    return {
        "events": args.events,
        "seconds": seconds,
        "rate": args.events / seconds,
        "append_rate": args.events / append_s,
        "edge_commits": edge.writer.commits - commits,
        "batches_sent": edge.uplink.batches_sent,
        "events_sent": edge.uplink.events_sent,
        "resends": edge.uplink.resends,
        "last_seq": edge.outbox.last_seq,
        "rss_mib": rss_mib(),
    }


def latency(edge: BenchEdge, args: argparse.Namespace) -> dict[str, Any]:
    """A steady rate; per event, edge commit -> central's ack received at the edge."""
    edge.connect()
    paced = Paced(edge, args.rate, record_commits=True)
    paced.start()
    time.sleep(args.warmup)
    measured_from = time.time()
    emit("mark", name="start")
    deadline = time.monotonic() + args.seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(PROGRESS_S, left))
        emit("progress", msg=f"latency: {edge.status()}")
    paced.stop()
    last = edge.outbox.last_seq
    edge.wait_acked(last, "latency")
    emit("mark", name="end")
    ack_seqs = [seq for seq, _ in edge.acks]
    lags: list[float] = []
    assert paced.commit_wall is not None
    for seq, committed in paced.commit_wall.items():
        if committed < measured_from:
            continue
        j = bisect.bisect_left(ack_seqs, seq)
        lags.append(edge.acks[j][1] - committed)
    if not lags:
        raise RuntimeError("latency: no event was measured")
    return {
        "events": len(lags),
        "rate": len(lags) / args.seconds,
        **ms_stats(lags, "ack"),
        **ms_stats(paced.append_s.sample(), "append"),
        "resends": edge.uplink.resends,
        "last_seq": last,
        "rss_mib": rss_mib(),
    }


class RssSampler:
    """This process's RSS every ``period`` seconds, tagged with the phase it was taken in."""

    def __init__(self, period: float = 0.5) -> None:
        self.period = period
        self.phase = "start"
        self.samples: list[tuple[float, str, float]] = []
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._started, self.phase, rss_mib()))
            self._stop.wait(self.period)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, phase: str | None = None) -> float:
        return max((r for _, p, r in self.samples if phase in (None, p)), default=rss_mib())


def backlog(edge: BenchEdge, args: argparse.Namespace, rss: RssSampler) -> dict[str, Any]:
    """Fill the outbox while offline, then connect and drain it under live traffic."""
    rss.phase = "fill"
    emit("mark", name="fill.start")
    fill_s = produce(edge, args.events, args.producers, args.window, "backlog fill")
    emit("mark", name="fill.end")
    rss_after_fill = rss_mib()
    emit(
        "progress",
        msg=f"backlog of {args.events:,} appended in {fill_s:.1f} s "
        f"({args.events / fill_s:,.0f}/s), rss {rss_after_fill:.0f} MiB; connecting",
    )
    rss.phase = "drain"
    rss_drain_start = rss_mib()
    live = Paced(edge, args.rate, first_index=args.events)
    emit("mark", name="start")
    started = time.monotonic()
    live.start()
    edge.connect()
    live_depth = max(500, int(args.rate))  # caught up: what is left is about 1 s of live events
    edge.wait_until(
        lambda: edge.acked >= args.events and edge.outbox.last_seq - edge.acked <= live_depth,
        "drain",
        timeout=max(300.0, args.events / 1000),
    )
    drained, seconds = edge.acked, time.monotonic() - started
    emit("mark", name="end")
    rss.phase = "tail"
    live.stop()
    last = edge.outbox.last_seq
    edge.wait_acked(last, "drain tail")
    rss.stop()
    return {
        "backlog": args.events,
        "fill_seconds": fill_s,
        "fill_rate": args.events / fill_s,
        "drained_events": drained,
        "seconds": seconds,
        "rate": drained / seconds,
        "live_events": last - args.events,
        **ms_stats(live.append_s.sample(), "live_append"),
        "resends": edge.uplink.resends,
        "last_seq": last,
        "rss_after_fill_mib": rss_after_fill,
        "rss_drain_start_mib": rss_drain_start,
        "rss_drain_peak_mib": rss.peak("drain"),
        "rss_peak_mib": rss.peak(),
        "rss_end_mib": rss_mib(),
        "rss_samples": [(round(t, 2), p, round(r, 1)) for t, p, r in rss.samples],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m floorsync.bench.edge_worker")
    p.add_argument("mode", choices=["durable", "latency", "backlog"])
    p.add_argument("--broker", required=True)
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--edge", required=True, help="the edge's name (last topic level)")
    p.add_argument("--events", type=int, default=20_000, help="durable: N; backlog: its size")
    p.add_argument("--producers", type=int, default=16)
    p.add_argument("--window", type=int, default=64, help="appends in flight per producer")
    p.add_argument("--rate", type=float, default=1000.0, help="paced events/s")
    p.add_argument("--seconds", type=float, default=5.0, help="latency: measured seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="latency: seconds not measured")
    p.add_argument("--batch-events", type=int, default=UplinkSettings.batch_events)
    p.add_argument("--uplink-window", type=int, default=UplinkSettings.window)
    p.add_argument("--log-level", default="warning")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_when_parent_goes()
    logs.setup("bench-edge", args.log_level)
    gc.collect()
    gc.freeze()  # as `floorsync edge` does (edge/main.py)
    rss = RssSampler() if args.mode == "backlog" else None
    settings = UplinkSettings(batch_events=args.batch_events, window=args.uplink_window)
    try:
        edge = BenchEdge(
            args.db, args.broker, args.edge, settings, keep_acks=args.mode == "latency"
        )
        try:
            if args.mode == "durable":
                result = durable(edge, args)
            elif args.mode == "latency":
                result = latency(edge, args)
            else:
                assert rss is not None
                result = backlog(edge, args, rss)
        finally:
            edge.close()
    except Exception as exc:
        emit("error", msg=str(exc), traceback=traceback.format_exc())
        return 1
    emit("result", edge_id=edge.address.path, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
