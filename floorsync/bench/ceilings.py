"""The raw ceilings of this machine, measured in the same run as FloorSync: MQTT and SQLite."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from floorsync.bench.common import cpu_seconds
from floorsync.bench.processes import BenchError, Processes, Worker
from protocols.mqtt import BrokerUrl, make_client

MESSAGE_BYTES = 200
PUBLISH_AHEAD = 1000  # messages handed to paho before waiting for the oldest PUBACK


def transport(
    procs: Processes,
    work: Path,
    broker: str,
    count: int,
    say: Callable[[str], None],
    watch: dict[str, int],
) -> dict[str, Any]:
    """paho QoS 1, one 200-byte message per event: first publish -> subscriber has all ``count``.

    The subscriber is a process of its own; the publisher keeps paho's default in-flight
    window (20) and hands paho at most PUBLISH_AHEAD messages ahead of the PUBACKs.
    """
    topic = "bench/raw/qos1"
    sub = Worker(
        procs,
        "subscriber_worker",
        ["--broker", broker, "--topic", topic, "--count", str(count)],
        work / "subscriber.log",
        say,
        name="subscriber",
    )
    ready = sub.wait_for("ready", 30.0)
    url = BrokerUrl.parse(broker)
    client = make_client(url, "bench-raw-publisher")
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect(url.host, url.port, 30)
    client.loop_start()
    try:
        if not connected.wait(10):
            raise BenchError("raw publisher did not connect")
        payload = os.urandom(MESSAGE_BYTES)
        pids = {**watch, "publisher": os.getpid()}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        pending: deque[mqtt.MQTTMessageInfo] = deque()
        first_wall = time.time()
        started = time.monotonic()
        next_report = started + 3.0
        for i in range(count):
            if len(pending) >= PUBLISH_AHEAD:
                pending.popleft().wait_for_publish(30)
            info = client.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise BenchError(f"raw publish failed: {mqtt.error_string(info.rc)}")
            pending.append(info)
            if i % 1000 == 0 and time.monotonic() >= next_report:
                say(f"  transport: published {i:,}/{count:,}")
                next_report += 3.0
        while pending:
            pending.popleft().wait_for_publish(30)
        publish_s = time.monotonic() - started
        result = sub.finish(timeout=120.0 + count / 500)
        wall = time.monotonic() - started
        cpu = {n: round(100 * (cpu_seconds(p) - cpu0[n]) / wall) for n, p in pids.items()}
        cpu["subscriber"] = round(100 * (result["cpu"] - ready["cpu"]) / wall)
    finally:
        client.loop_stop()
        client.disconnect()
    received = int(result["received"])
    if not result["complete"]:
        raise BenchError(f"raw subscriber got {received:,} of {count:,} messages")
    seconds = float(result["last"]) - first_wall
    return {
        "messages": count,
        "bytes": MESSAGE_BYTES,
        "seconds": seconds,
        "rate": count / seconds,
        "publish_rate": count / publish_s,
        "cpu_pct": cpu,
    }


def storage(
    work: Path, rows: int, say: Callable[[str], None], max_seconds: float = 15.0
) -> dict[str, Any]:
    """sqlite3, WAL, synchronous=FULL, one 200-byte row per commit (``rows`` or ``max_seconds``)."""
    path = work / "raw-sqlite.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        body = os.urandom(MESSAGE_BYTES)
        started = time.perf_counter()
        deadline, next_report = started + max_seconds, started + 3.0
        done = 0
        while done < rows:
            conn.execute("INSERT INTO t (body) VALUES (?)", (body,))  # autocommit: one commit
            done += 1
            if done % 100 == 0:
                now = time.perf_counter()
                if now >= deadline:
                    break
                if now >= next_report:
                    say(f"  storage: {done:,} commits, {done / (now - started):,.0f}/s")
                    next_report += 3.0
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return {"rows": done, "bytes": MESSAGE_BYTES, "seconds": seconds, "rate": done / seconds}
