"""`floorsync sim plant` and `floorsync edge` on one config, as an integrator runs a line."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymodbus.client import ModbusTcpClient

from tests.helpers import EDGE_API_TOKENS_TOML, EDGE_AUTH, free_port
from tests.integration.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_line_runs_against_its_simulated_plant(tmp_path: Path) -> None:
    """One device of each kind: Modbus TCP and RTU, OPC UA, count station, scanner."""
    http = free_port()
    text = (ROOT / "config" / "line.example.toml").read_text()
    text = text.replace("port = 15020", f"port = {free_port()}").replace(
        "port = 8081", f"port = {http}"
    )
    text = text.replace("127.0.0.1:4841", f"127.0.0.1:{free_port()}")
    text = text.replace('"var/line/', f'"{tmp_path}/line/')
    text = re.sub(r'data_dir = ".*"', f'data_dir = "{tmp_path / "edge"}"', text)
    text = text.replace("mqtt://127.0.0.1:1883", f"mqtt://127.0.0.1:{free_port()}")
    config = tmp_path / "line.toml"
    config.write_text(text + "\n" + EDGE_API_TOKENS_TOML)
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
            "10",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    # started together, as an integrator would: the edge retries what is not there yet
    edge = subprocess.Popen(
        [sys.executable, "-m", "floorsync", "edge", "--config", str(config)],
        stderr=subprocess.DEVNULL,
    )
    try:
        assert plant.stdout is not None
        assert "simulating 5 device(s)" in plant.stdout.readline()

        def status() -> dict[str, Any]:
            result: dict[str, Any] = httpx.get(
                f"http://127.0.0.1:{http}/api/v1/status", headers=EDGE_AUTH, timeout=2
            ).json()
            return result

        def counting() -> bool:
            stations = status()["stations"]
            return all(stations[s]["good"] >= 5 for s in ("ST-10", "ST-20", "ST-30", "ST-40"))

        wait_for("pieces counted at every station", counting, 30)
        now = status()
        for device, health in {**now["devices"], **now["scanners"]}.items():
            assert health["connected"] is True, (device, health)
        assert set(now["devices"]) == {"press", "bender", "welder", "counter1"}
        for station in ("ST-10", "ST-20", "ST-30"):
            assert now["stations"][station]["machine_state"] == "running", station
        assert now["outbox"]["last_seq"] >= 3, "the running states were recorded"
    finally:
        for proc in (edge, plant):
            proc.send_signal(signal.SIGTERM)
        for proc in (edge, plant):
            proc.wait(15)
        if plant.stdout is not None:
            plant.stdout.close()
    assert plant.returncode == 0
    assert not list((tmp_path / "line").iterdir()), "sim plant removed its links"


@pytest.mark.parametrize("simulator", ["modbus", "opcua", "scanner", "count"])
def test_each_simulator_starts_says_where_and_stops_cleanly(simulator: str) -> None:
    port = ["--port", str(free_port())] if simulator in ("modbus", "opcua") else []
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
            "count": "/dev/pts/",
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
