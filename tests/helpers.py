"""Helpers of the test suite: real services started per test, waiting with deadlines."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.auth import hash_token
from simulators.threaded import SimThread as SimThread

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its TestClient with httpx2; httpx is what we depend on
    # and the client works the same. Drop this once the dev dependencies bring httpx2.
    warnings.filterwarnings("ignore", "Using `httpx`")
    from fastapi.testclient import TestClient as TestClient

REQUIRE = os.environ.get("FLOORSYNC_REQUIRE_SERVICES") == "1"

# An API token every test edge accepts as admin ([[api_tokens]] below); the tests' own.
EDGE_TOKEN = "fse_tests-only-admin-token-never-used-on-a-line"
EDGE_AUTH = {"Authorization": f"Bearer {EDGE_TOKEN}"}
EDGE_API_TOKENS = [
    {"name": "tests", "role": "admin", "token_hash": hash_token(EDGE_TOKEN)},
]
EDGE_API_TOKENS_TOML = (
    f'[[api_tokens]]\nname = "tests"\nrole = "admin"\ntoken_hash = "{hash_token(EDGE_TOKEN)}"\n'
)
PG_ADMIN_URL = os.environ.get(
    "FLOORSYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def unavailable(what: str) -> None:
    """Skip, or fail when services are required."""
    if REQUIRE:
        pytest.fail(f"{what} (FLOORSYNC_REQUIRE_SERVICES=1)")
    pytest.skip(what)


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, not handed out before. Each pytest-xdist worker takes its own
    share of the ports, so two workers never start servers on the same one (the kernel gives
    bind() odd ports: the share goes by port // 2)."""
    share = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port // 2 % workers == share and port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class Mosquitto:
    """A Mosquitto process of a test's own, on a free port, persistence off."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary, self.port = binary, free_port()
        self.conf = workdir / f"mosquitto-{self.port}.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 10000\nset_tcp_nodelay true\n"
            "log_dest stderr\nlog_type error\nlog_type warning\n"
        )
        self.log = workdir / f"mosquitto-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``condition`` until it is truthy and return it; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.01)
