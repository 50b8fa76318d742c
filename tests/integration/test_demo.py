"""`floorsync demo` as a new user runs it: it starts, the line works the demo company's orders,
Ctrl-C stops everything."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from central.db import make_engine
from central.db.domain import inspections, material_consumption, operation_tasks, production_orders
from tests.helpers import free_port
from tests.integration.conftest import EDGE_ID, wait_for


def test_demo_runs_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    central, edge, broker = free_port(), free_port(), free_port()
    started = datetime.now(UTC)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "floorsync",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--central-port",
            str(central),
            "--edge-port",
            str(edge),
            "--broker-port",
            str(broker),
            "--rate",
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        banner = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            assert line, "demo exited before it was running:\n" + "".join(banner)
            banner.append(line)
            if line.startswith("  logs"):
                break
        text = "".join(banner)
        assert "FloorSync demo is running" in text
        assert f"mqtt://127.0.0.1:{broker} (embedded)" in text
        assert f"http://127.0.0.1:{central}/docs" in text

        def applied() -> int:
            edges = httpx.get(f"http://127.0.0.1:{central}/api/v1/edges", timeout=2).json()
            return next((e["applied_seq"] for e in edges if e["edge_id"] == EDGE_ID), 0)

        wait_for("the station's events at central", lambda: applied() >= 20, 60)
        totals = httpx.get(f"http://127.0.0.1:{central}/api/v1/station-totals", timeout=2).json()
        assert totals and totals[0]["good"] > 0

        # The stations work the demo company's released orders: the order book moves.
        assert f"http://127.0.0.1:{edge}/api/v1/dispatch-list" in text
        book = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
        try:

            def count(*where: Any) -> int:
                with book.connect() as conn:
                    return int(conn.execute(select(func.count()).where(*where)).scalar_one())

            wait_for(
                "operations worked on the line today",
                lambda: count(
                    operation_tasks.c.good > 0, operation_tasks.c.actual_start >= started
                ),
            )
            wait_for("material issued on the line", lambda: count(material_consumption.c.seq > 0))
            wait_for("an inspection on the line", lambda: count(inspections.c.seq > 0))
            wait_for(
                "a released order completed",
                lambda: count(
                    production_orders.c.status == "completed",
                    production_orders.c.completed_at >= started,
                ),
            )
        finally:
            book.dispose()
        listing = httpx.get(f"http://127.0.0.1:{edge}/api/v1/dispatch-list", timeout=2).json()
        assert listing["version"] >= 1

        demo.send_signal(signal.SIGINT)
        out, _ = demo.communicate(timeout=60)
        assert demo.returncode == 0, out
        assert out.rstrip().endswith("stopped")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    for port in (central, edge, broker):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
        except httpx.HTTPError:
            continue
        raise AssertionError(f"something still listens on {port} after the demo stopped")
    assert "Traceback" not in (tmp_path / "logs" / "edge.log").read_text()
    assert "Traceback" not in (tmp_path / "logs" / "central.log").read_text()
    for log in (tmp_path / "logs").glob("station-*.log"):
        assert "Traceback" not in log.read_text(), log.name
