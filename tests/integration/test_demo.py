"""`floorsync demo` as a new user runs it: it starts, the crews work the demo company's orders
at the station terminals while the simulated machines count, Ctrl-C stops everything."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from central.db import make_engine
from central.db.domain import inspections, material_consumption, operation_tasks, production_orders
from central.db.schema import events
from edge.pins import verify_pin
from edge.settings import EdgeSettings
from floorsync.demo import EDGE_CONFIG, write_edge_config
from simulators.station import DEMO_SUPERVISOR
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
        # where to look: the line's dashboard, each station's terminal, the demo's PIN
        assert f"http://127.0.0.1:{edge}/line" in text
        for station in ("ST-10", "ST-20", "ST-30"):
            assert f"http://127.0.0.1:{edge}/stations/{station}" in text
        assert "EMP-0900, PIN 1234" in text and "never for a real line" in text

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
            with book.connect() as conn:
                issued = conn.execute(
                    select(material_consumption).where(material_consumption.c.seq > 0)
                ).all()
                floor = conn.execute(select(events.c.kind, events.c.payload)).all()
        finally:
            book.dispose()
        # lots scanned off their labels at the terminals, by the crew logged in there
        assert all(re.fullmatch(rf"{re.escape(i.item)}-L[123]", i.lot) for i in issued), issued
        assert all(i.operators for i in issued)
        kinds = {kind for kind, _ in floor}
        assert {"operator_login", "material_issue", "inspection", "production_report"} <= kinds
        # the machines' counters made the reports: the crews typed no counts
        sources = {p["source"] for kind, p in floor if kind == "production_report" and p["good"]}
        assert sources == {"counter"}
        # the edge's API needs a sign-in: the demo's admin token, printed and kept
        edge_token = (tmp_path / "edge-token").read_text().strip()
        assert edge_token in text
        auth = {"Authorization": f"Bearer {edge_token}"}
        assert httpx.get(f"http://127.0.0.1:{edge}/api/v1/line", timeout=2).status_code == 401
        line = httpx.get(f"http://127.0.0.1:{edge}/api/v1/line", headers=auth, timeout=2).json()
        assert {s["station"]: s["state"] for s in line["stations"]} == {
            "ST-10": "running",
            "ST-20": "running",
            "ST-30": "running",
        }
        listing = httpx.get(
            f"http://127.0.0.1:{edge}/api/v1/dispatch-list", headers=auth, timeout=2
        ).json()
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
    assert "Traceback" not in (tmp_path / "logs" / "plant.log").read_text()


def test_the_demo_line_is_a_valid_edge_config_with_the_supervisor_the_crews_use() -> None:
    config = EdgeSettings.model_validate(tomllib.loads(EDGE_CONFIG.read_text()))
    [supervisor] = config.supervisors
    assert (supervisor.badge, verify_pin(DEMO_SUPERVISOR[1], supervisor.pin_hash)) == (
        DEMO_SUPERVISOR[0],
        True,
    )
    assert [s.name for s in config.shifts] == ["early", "late", "night"]
    modbus = {d.name for d in config.devices if d.kind == "modbus_tcp"}
    for station in config.stations:
        assert station.good_counter and station.good_counter.split(".")[0] in modbus
        assert station.state is not None


def test_a_machine_port_that_is_taken_moves_to_a_free_one(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        text = EDGE_CONFIG.read_text().replace("port = 15031", f"port = {port}")
        demo_config = tmp_path / "demo_edge.toml"
        demo_config.write_text(text)
        written = tmp_path / "edge.toml"
        machines = write_edge_config(written, demo_config)
    config = EdgeSettings.model_validate(tomllib.loads(written.read_text()))
    cnc = next(d for d in config.devices if d.name == "cnc-01")
    assert cnc.port != port and f"cnc-01 127.0.0.1:{cnc.port}" in machines
