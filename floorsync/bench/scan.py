"""``floorsync bench scan``: a scan on a serial port to a committed event, p50 / p99.

The scanner simulator writes into a pty that a real SerialScanner reads, as on a line;
the time runs from the write to the commit of the ``scan`` event in the outbox. The
baseline is a raw SQLite commit of one row (WAL, synchronous=FULL) on the same disk.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from edge.devices.serial_scanner import SerialScanner, SerialScannerSettings
from edge.outbox import Outbox, Recorded
from edge.scanning import ScanRecorder
from edge.store import Writer
from floorsync.bench.common import percentile
from simulators.scanner import ScannerSimulator


def raw_commit_ms(path: Path, count: int) -> list[float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (body) VALUES (?)", (b"x" * 200,))
        conn.execute("COMMIT")
        times.append((time.perf_counter() - started) * 1000)
    conn.close()
    return times


def main(args: argparse.Namespace) -> int:
    count, rate = args.scans, args.rate
    with tempfile.TemporaryDirectory() as tmp:
        print(f"baseline: {count} raw SQLite commits ...", flush=True)
        baseline = raw_commit_ms(Path(tmp) / "raw.db", count)
        writer = Writer(Path(tmp) / "edge.db")
        outbox = Outbox(writer, "plant1/assembly/line1/edge1")
        recorder = ScanRecorder(outbox)
        sim = ScannerSimulator(terminator=b"\r")
        sent: dict[str, float] = {}
        latencies: list[float] = []
        done = threading.Event()

        def on_scan(station: str, device: str, raw: str) -> None:
            result = recorder.submit(station, device, raw)

            def committed(_: Future[Recorded]) -> None:
                latencies.append((time.perf_counter() - sent[raw]) * 1000)
                if len(latencies) == count:
                    done.set()

            assert result.recorded is not None, result.reason
            result.recorded.add_done_callback(committed)

        scanner = SerialScanner(
            SerialScannerSettings("bench", sim.device, "ST-10", terminator="CR"), on_scan
        )
        scanner.start()
        while not scanner.health.connected:  # pyserial empties the buffer when it opens
            time.sleep(0.01)
        print(f"sending {count} scans at {rate:g}/s through {sim.device} ...", flush=True)
        started = time.monotonic()
        for i in range(count):
            code = f"WO-2026-{i:06d}"
            sent[code] = time.perf_counter()
            sim.send(code)
            if i and i % max(1, int(rate * 5)) == 0:
                print(f"  {i} sent, {len(latencies)} committed", flush=True)
            time.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
        complete = done.wait(30)
        scanner.stop()
        sim.close()
        outbox.close()
        writer.close()
    latencies.sort()
    baseline.sort()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    raw99 = percentile(baseline, 99)
    print()
    print(f"{'figure':<40}{'value':>10}  unit  target")
    print(f"{'raw SQLite FULL commit, p50':<40}{percentile(baseline, 50):>10.2f}  ms")
    print(f"{'raw SQLite FULL commit, p99':<40}{raw99:>10.2f}  ms    (baseline)")
    print(f"{'serial scan -> committed event, p50':<40}{p50:>10.2f}  ms")
    print(
        f"{'serial scan -> committed event, p99':<40}{p99:>10.2f}  ms    <= 20  "
        f"{'PASS' if p99 <= 20 else 'MISS'}  ({p99 / raw99:.2f}x raw commit p99)"
    )
    print(f"{'serial scan -> committed event, max':<40}{latencies[-1]:>10.2f}  ms")
    print(f"{'scans committed':<40}{len(latencies):>10}  of {count}")
    return 0 if complete else 1
