"""The line ``bench faults`` breaks: Mosquitto, a cuttable TCP proxy, central, edge, stations.

The edge reaches the broker only through ``Proxy``, a TCP relay in the bench process:
``cut()`` stops moving bytes on the open connections (they stall, as TCP does when a
cable is pulled) and refuses new ones; ``restore()`` lets the stalled bytes through
again. Central talks to the broker directly, so a cut separates only the edge.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

from edge.auth import new_api_token
from floorsync.bench.processes import BenchError, Central, Processes, tail, wait_port
from floorsync.procs import floorsync_cmd, free_port, wait_http

EDGE_ID = "plant1/assembly/line1/edge1"
STATIONS = 4


class Broker:
    """Mosquitto without persistence on a fixed port, so it can die and come back there."""

    def __init__(self, procs: Processes, binary: str, work: Path) -> None:
        self.procs, self.binary = procs, binary
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = work / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\nlog_dest stderr\nlog_type error\nlog_type warning\n"
        )
        self.log = work / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        token, self.token_hash = new_api_token()  # the stations' API token (integration)
        self.auth = {"Authorization": f"Bearer {token}"}

    def start(self) -> None:
        self.proc = self.procs.start([self.binary, "-c", str(self.conf)], self.log)
        wait_port(self.port, self.proc)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.procs.stop(self.proc)

    def stop(self) -> None:
        """A clean stop; with ``persistence false`` every session and queue is gone."""
        assert self.proc is not None
        self.procs.stop(self.proc)


class Proxy:
    """A TCP relay from a local port to the broker that can be cut and restored."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        listener.settimeout(0.1)  # a blocked accept() would keep the port after close()
        while True:
            try:
                down, _ = listener.accept()
            except TimeoutError:
                if listener is self._listener:
                    continue
                listener.close()
                return  # closed by cut() or close()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream_port), 2.0)
            except OSError:
                down.close()  # the broker is down: so is the connection
                continue
            for s in (down, up):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(None)
            with self._lock:
                self._sockets.update((down, up))
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._flowing.wait()  # cut: hold the bytes, as a stalled TCP connection does
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
                with self._lock:
                    self._sockets.discard(s)

    def cut(self) -> None:
        """Open connections stall, new ones are refused."""
        self._flowing.clear()
        if self._listener is not None:
            self._listener = None  # its accept loop closes it within 0.1 s

    def restore(self) -> None:
        if self._closed:
            return
        self._flowing.set()
        if self._listener is None:
            time.sleep(0.2)  # let the old listener's accept loop close it
            self._listen()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._flowing.set()
        with self._lock:
            for s in list(self._sockets):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


class Edge:
    """``floorsync edge`` as a real process that can be SIGKILLed and started again."""

    def __init__(self, procs: Processes, work: Path, broker_url: str) -> None:
        self.procs = procs
        self.data_dir = work / "edge"
        self.db = self.data_dir / "edge.db"
        self.config = work / "edge.toml"
        self.max_rate = 0.0  # uplink.max_rate: drain rows slow the drain so a fault lands in it
        self.broker_url = broker_url
        self.log = work / "edge.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock_offset_s = 0.0
        self.store_mb = 0.0  # [store] max_mb: the disk_full row gives the edge a small disk
        self.proc: subprocess.Popen[bytes] | None = None
        token, self.token_hash = new_api_token()  # the stations' API token (integration)
        self.auth = {"Authorization": f"Bearer {token}"}

    def start(self) -> None:
        # small batches and a short ack timeout, as a busy line's edge would resend quickly
        self.config.write_text(
            '[node]\nsite = "plant1"\narea = "assembly"\nline = "line1"\nname = "edge1"\n'
            f'data_dir = "{self.data_dir}"\n'
            "[uplink]\nbatch_events = 100\nwindow = 4\nack_timeout_s = 1.0\n"
            f"max_rate = {self.max_rate}\n"
            f"[store]\nmax_mb = {self.store_mb}\n"
            + "".join(f'[[stations]]\nname = "ST-{i}"\n' for i in range(STATIONS))
            + '[[api_tokens]]\nname = "bench"\nrole = "integration"\n'
            + f'token_hash = "{self.token_hash}"\n'
        )
        cmd = floorsync_cmd(
            "edge",
            "--config",
            str(self.config),
            "--broker",
            self.broker_url,
            "--http-port",
            str(self.port),
        )
        env = dict(os.environ)
        if self.clock_offset_s:
            env["FLOORSYNC_CLOCK_OFFSET_S"] = str(self.clock_offset_s)
        self.proc = self.procs.start(cmd, self.log, env=env)
        try:
            wait_http(f"{self.url}/health", timeout=60.0, proc=self.proc)
        except (RuntimeError, TimeoutError) as exc:
            raise BenchError(f"the edge did not start: {exc}\n{tail(self.log)}") from None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.procs.stop(self.proc)

    def stop(self) -> None:
        assert self.proc is not None
        self.procs.stop(self.proc, timeout=20.0)


@dataclass
class Stations:
    """Stations posting production reports to the edge; a 201 means committed at the edge.

    A station whose request fails (the edge is down) tries again, as a terminal does, with
    the report's idempotency key: if the edge had committed the first try before it died,
    the retry is answered with that event instead of recording it again.
    """

    edge: Edge
    accepted: set[str] = field(default_factory=set)
    good: int = 0
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0

    def produce(self, count: int) -> None:
        """Start posting ``count`` events from every station together, in the background."""
        self.threads = [
            threading.Thread(target=self._station, args=(i, count // STATIONS), daemon=True)
            for i in range(STATIONS)
        ]
        self.started_at = time.monotonic()
        for t in self.threads:
            t.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in self.threads):
            raise BenchError(f"the stations could not post their events within {timeout:.0f} s")
        self.finished_at = time.monotonic()

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)

    def _station(self, index: int, count: int) -> None:
        start = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
        with httpx.Client(timeout=10, headers=self.edge.auth) as client:
            for n in range(count):
                good = 1 + n % 7
                body = {
                    "kind": "production_report",
                    "station": f"ST-{index}",
                    "payload": {
                        "work_order": "WO-2026-000123",
                        "operation": "10",
                        "good": good,
                        "scrap": n % 2,
                        "period_start": (start + timedelta(seconds=n)).isoformat(),
                        "period_end": (start + timedelta(seconds=n + 1)).isoformat(),
                    },
                }
                key = {"Idempotency-Key": str(uuid.uuid4())}
                while True:
                    try:
                        response = client.post(
                            f"{self.edge.url}/api/v1/events", json=body, headers=key
                        )
                    except httpx.HTTPError:
                        time.sleep(0.05)  # the edge is down: the terminal tries again
                        continue
                    with self.lock:
                        if response.status_code == 201:
                            self.accepted.add(response.json()["event_id"])
                            self.good += good
                        else:
                            self.refused.append(f"{response.status_code} {response.text[:200]}")
                    break


@dataclass(frozen=True)
class Held:
    """What central holds of one edge, compared with what the stations were told."""

    rows: int
    lost: int
    duplicated: int
    unanswered: int  # committed by the edge and never answered: a retry recorded twice
    in_order: bool  # applied in sequence order, 1..n without a gap
    effects_ok: bool  # the station totals count each stored event once


def central_holds(db: Path, edge_id: str, accepted: set[str]) -> Held:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT seq, event_id, payload FROM events WHERE edge_id = ? ORDER BY id", (edge_id,)
        ).fetchall()
        totals = conn.execute(
            "SELECT COALESCE(SUM(good), 0) FROM station_totals WHERE edge_id = ?", (edge_id,)
        ).fetchone()[0]
    finally:
        conn.close()
    ids = [r[1] for r in rows]
    seqs = [r[0] for r in rows]
    good = sum(orjson.loads(r[2]).get("good", 0) for r in rows)
    return Held(
        rows=len(rows),
        lost=len(accepted - set(ids)),
        duplicated=len(ids) - len(set(ids)) + len(seqs) - len(set(seqs)),
        unanswered=len(set(ids) - accepted),
        in_order=seqs == list(range(1, len(seqs) + 1)),
        effects_ok=totals == good,
    )


def central_count(db: Path, edge_id: str) -> int:
    """How many events of ``edge_id`` central has stored so far (0 before its tables exist)."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM events WHERE edge_id = ?", (edge_id,)
                ).fetchone()[0]
            )
        finally:
            conn.close()
    return 0


def wait_until(what: str, check: Callable[[], bool], timeout: float, poll: float = 0.02) -> float:
    """Poll ``check`` until true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, sqlite3.Error, OSError):
            if check():
                return time.monotonic()
        time.sleep(poll)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")


class Line:
    """Broker, proxy, central and edge of one fault row, each started for real."""

    def __init__(self, procs: Processes, binary: str, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.procs, self.work = procs, work
        self.broker = Broker(procs, binary, work)
        self.broker.start()
        self.proxy = Proxy(self.broker.port)
        # central starts in the background: a row starts its edge meanwhile
        self._central: Central | BaseException | None = None
        self._central_start = threading.Thread(target=self._start_central, daemon=True)
        self._central_start.start()
        self.edge = Edge(procs, work, self.proxy.url)
        self.stations = Stations(self.edge)
        self.notes: list[str] = []  # what a fault did, for the row's note
        self.behind = 0  # accepted, not yet at central, when the fault was cleared
        self.destroyed: set[str] = set()  # event ids a simulated disk failure destroyed

    def _start_central(self) -> None:
        try:
            self._central = Central(self.procs, self.work, self.broker.url)
        except BaseException as exc:  # handed to whoever asks for central
            self._central = exc

    @property
    def central(self) -> Central:
        self._central_start.join(120)
        if isinstance(self._central, BaseException):
            raise self._central
        if self._central is None:
            raise BenchError("central did not start within 120 s")
        return self._central

    def held_back(self) -> None:
        """Call just before clearing a fault: how many events it is holding back."""
        accepted = set(self.stations.accepted)
        self.behind = central_holds(self.central.db, EDGE_ID, accepted).lost

    def start_edge(self) -> None:
        self.edge.start()
        assert self.central  # started alongside; the row needs both
        wait_until("the edge to connect", lambda: bool(self._edge_ready()), 30)

    def _edge_ready(self) -> bool:
        return bool(httpx.get(f"{self.edge.url}/health", timeout=2).json()["mqtt_connected"])

    def restart_central(self) -> None:
        self._central = Central(self.procs, self.work, self.broker.url)

    def kill_central(self) -> None:
        self.central.proc.send_signal(signal.SIGKILL)
        self.central.proc.wait(10)
        self.procs.stop(self.central.proc)

    def at_central(self) -> int:
        return central_count(self.central.db, EDGE_ID)

    def wait_all_at_central(self, timeout: float, *, give_up: bool = False) -> float:
        """Once the stations are done: the moment central holds every accepted event
        (but those a simulated disk failure destroyed); NaN if it never does and
        ``give_up``, so the row can show what is missing."""
        accepted = set(self.stations.accepted) - self.destroyed
        try:
            return wait_until(
                "central to hold every accepted event",
                lambda: central_holds(self.central.db, EDGE_ID, accepted).lost == 0,
                timeout,
                poll=0.05,
            )
        except BenchError:
            if give_up:
                return float("nan")
            raise

    def close(self) -> None:
        self.proxy.close()
