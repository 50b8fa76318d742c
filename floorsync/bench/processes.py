"""The bench's child processes: Mosquitto, central and its workers, all stopped on the way out."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import orjson

from floorsync.bench.common import cpu_seconds
from floorsync.procs import floorsync_cmd, free_port, stop, wait_http

FALLBACK_MOSQUITTO = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BenchError(RuntimeError):
    """The bench could not measure (a process failed, a stage stalled)."""


def find_mosquitto(binary: str) -> str:
    found = shutil.which(binary)
    if found is None and binary == "mosquitto":
        found = next((p for p in FALLBACK_MOSQUITTO if Path(p).exists()), None)
    if found is None:
        raise BenchError(
            f"mosquitto binary {binary!r} not found (install mosquitto or --mosquitto)"
        )
    return found


def tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


class Processes:
    """Every child of the bench; on exit each is stopped (SIGTERM, then SIGKILL), newest first."""

    def __init__(self) -> None:
        self._children: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self, cmd: list[str], log_path: Path, **popen: Any) -> subprocess.Popen[bytes]:
        log = log_path.open("ab")
        try:
            proc = subprocess.Popen(cmd, stdout=popen.pop("stdout", log), stderr=log, **popen)
        except BaseException:
            log.close()
            raise
        self._children.append((proc, log))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
        if proc.stdin is not None:  # a bench worker exits when its stdin closes
            with contextlib.suppress(OSError):
                proc.stdin.close()
        code = stop(proc, timeout)
        for child in list(self._children):
            if child[0] is proc:
                child[1].close()
                self._children.remove(child)
        return code

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        for proc, _ in reversed(list(self._children)):
            self.stop(proc, timeout=5.0)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise BenchError(f"nothing listens on port {port} after {timeout:.0f} s")


def start_mosquitto(
    procs: Processes, binary: str, work: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    """A Mosquitto of the bench's own on a free port; returns its URL and process."""
    port = free_port()
    conf = work / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 10000\nset_tcp_nodelay true\nlog_dest stderr\nlog_type error\n"
        "log_type warning\n"
    )
    proc = procs.start([binary, "-c", str(conf)], work / "mosquitto.log")
    wait_port(port, proc)
    return f"mqtt://127.0.0.1:{port}", proc


class Central:
    """``floorsync central`` on a SQLite file in the work dir, as a real subprocess."""

    def __init__(self, procs: Processes, work: Path, broker: str) -> None:
        self.broker = broker
        self.db = work / "central.db"
        self.log = work / "central.log"
        self.url = f"http://127.0.0.1:{free_port()}"
        cmd = floorsync_cmd(
            "central",
            "--database",
            f"sqlite:///{self.db}",
            "--broker",
            broker,
            "--http-port",
            self.url.rsplit(":", 1)[1],
            "--log-level",
            "warning",
        )
        self.proc = procs.start(cmd, self.log)
        try:
            wait_http(f"{self.url}/health", timeout=60.0, proc=self.proc)
            deadline = time.monotonic() + 20.0
            while not httpx.get(f"{self.url}/health").json().get("mqtt_connected"):
                if time.monotonic() > deadline:
                    raise BenchError("central did not connect to the broker within 20 s")
                time.sleep(0.05)
        except (RuntimeError, TimeoutError) as exc:
            raise BenchError(f"central did not start: {exc}\n{tail(self.log)}") from None
        time.sleep(0.3)  # its subscription is sent right after CONNACK; let the SUBACK land

    def metrics(self) -> dict[str, float]:
        """Central's own counters (``floorsync_central_*``) from /metrics."""
        text = httpx.get(f"{self.url}/metrics", timeout=10.0).text
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("floorsync_central_") and "{" not in line:
                name, _, value = line.partition(" ")
                values[name.removeprefix("floorsync_central_")] = float(value)
        return values


class Worker:
    """A bench worker (``python -m floorsync.bench.<module>``) that reports in JSON lines.

    ``progress`` lines go to ``say``; ``mark`` lines snapshot the CPU time of ``watch``ed
    processes, so the bench can say who used how much CPU between two marks.
    """

    def __init__(
        self,
        procs: Processes,
        module: str,
        args: list[str],
        log_path: Path,
        say: Callable[[str], None],
        watch: dict[str, int] | None = None,
        name: str = "edge worker",
    ) -> None:
        self.say = say
        self.name = name
        self.log_path = log_path
        self.messages: list[dict[str, Any]] = []
        self.marks: dict[str, tuple[float, dict[str, float]]] = {}
        self.watch = dict(watch or {})
        self._procs = procs
        self._changed = threading.Condition()
        self.proc = procs.start(
            [sys.executable, "-m", f"floorsync.bench.{module}", *args],
            log_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.watch[name] = self.proc.pid
        self._reader = threading.Thread(target=self._read, name=f"{module}-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError:
                message = {"type": "progress", "msg": raw.decode(errors="replace").rstrip()}
            if message.get("type") == "progress":
                self.say(f"  {message['msg']}")
            elif message.get("type") == "mark":
                cpu = {name: cpu_seconds(pid) for name, pid in self.watch.items()}
                self.marks[message["name"]] = (time.monotonic(), cpu)
            with self._changed:
                self.messages.append(message)
                self._changed.notify_all()
        with self._changed:
            self.messages.append({"type": "eof"})
            self._changed.notify_all()

    def wait_for(self, kind: str, timeout: float) -> dict[str, Any]:
        """The first message of ``kind``; BenchError on an ``error``, exit, or the timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next(
                    (m for m in self.messages if m["type"] in (kind, "error", "eof")), None
                )
                left = deadline - time.monotonic()
                if found is not None or left <= 0:
                    break
                self._changed.wait(left)
        if found is None:
            raise BenchError(f"{self.name}: no {kind!r} within {timeout:.0f} s")
        if found["type"] == kind:
            return found
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        detail = found.get("msg") or f"exited with {self.proc.returncode}"
        trace = found.get("traceback") or tail(self.log_path)
        raise BenchError(f"{self.name}: {detail}\n{trace}")

    def finish(self, timeout: float) -> dict[str, Any]:
        """Its result, once it exited."""
        result = self.wait_for("result", timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(30)
        self._procs.stop(self.proc)
        self._reader.join(5)
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()
        return result

    def cpu_between(self, first: str = "start", last: str = "end") -> dict[str, float]:
        """Each watched process's CPU use between two marks, in % of one core."""
        if first not in self.marks or last not in self.marks:
            return {}
        (t0, cpu0), (t1, cpu1) = self.marks[first], self.marks[last]
        wall = max(t1 - t0, 1e-9)
        return {name: round(100 * (cpu1[name] - cpu0[name]) / wall) for name in cpu0}
