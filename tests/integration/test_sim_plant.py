"""`floorsync sim plant` and `floorsync edge` on one config, as an integrator runs a line."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pymodbus.client import ModbusTcpClient

from tests.helpers import free_port
from tests.integration.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_line_runs_against_its_simulated_plant(tmp_path: Path) -> None:
    modbus, http = free_port(), free_port()
    text = (ROOT / "config" / "line.example.toml").read_text()
    text = text.replace("port = 15020", f"port = {modbus}").replace("port = 8081", f"port = {http}")
    text = re.sub(r'data_dir = ".*"', f'data_dir = "{tmp_path / "edge"}"', text)
    text = text.replace("mqtt://127.0.0.1:1883", f"mqtt://127.0.0.1:{free_port()}")
    config = tmp_path / "line.toml"
    config.write_text(text)
    plant = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "floorsync",
            "sim",
            "plant",
            "--config",
            str(config),
            "--rate",
            "20",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    edge = None
    try:
        assert plant.stdout is not None
        assert "simulating 1 machine(s)" in plant.stdout.readline()
        edge = subprocess.Popen(
            [sys.executable, "-m", "floorsync", "edge", "--config", str(config)],
            stderr=subprocess.DEVNULL,
        )

        def station() -> dict[str, object]:
            status = httpx.get(f"http://127.0.0.1:{http}/api/v1/status", timeout=2).json()
            result: dict[str, object] = status["stations"]["ST-10"]
            return result

        wait_for("pieces counted at ST-10", lambda: int(station()["good"]) >= 10, 30)  # type: ignore[call-overload]
        assert station()["machine_state"] == "running"
        status = httpx.get(f"http://127.0.0.1:{http}/api/v1/status", timeout=2).json()
        assert status["devices"]["press"]["connected"] is True
        assert status["outbox"]["last_seq"] >= 1, "the running state was recorded"
    finally:
        for proc in (edge, plant):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
        if plant.stdout is not None:
            plant.stdout.close()
    assert plant.returncode == 0


@pytest.mark.parametrize("simulator", ["modbus", "opcua", "scanner"])
def test_each_simulator_starts_says_where_and_stops_cleanly(simulator: str) -> None:
    port = ["--port", str(free_port())] if simulator != "scanner" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "floorsync", "sim", simulator, *port],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        expected = {
            "modbus": f"127.0.0.1:{port[-1] if port else ''}",
            "opcua": "opc.tcp://",
            "scanner": "/dev/pts/",
        }[simulator]
        assert expected in banner, banner
        if simulator == "modbus":
            client = ModbusTcpClient("127.0.0.1", port=int(port[-1]))
            assert client.connect()
            words = client.read_holding_registers(4, count=1, device_id=1).registers
            client.close()
            assert words == [1], "the press runs"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == 0
