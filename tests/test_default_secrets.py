"""Well-known secrets stop central and the edge at start-up, except inside the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from floorsync.config import ConfigError
from floorsync.default_secrets import DEMO_EDGE_CONFIG, DEMO_ENV, refuse

DEMO_PIN_HASH = tomllib.loads(DEMO_EDGE_CONFIG.read_text())["supervisors"][0]["pin_hash"]


def floorsync(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != DEMO_ENV}
    command = [sys.executable, "-m", "floorsync", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_central_refuses_a_default_database_or_broker_password() -> None:
    done = floorsync(
        "central",
        "--database",
        "postgresql+psycopg://floorsync:changeme@127.0.0.1:1/central",
        "--broker",
        "mqtt://central:Password@127.0.0.1:1",
        "--http-port",
        "1",
    )
    assert done.returncode == 2, done.stderr
    assert "refusing to start with a well-known secret" in done.stderr
    assert "database.url: its password" in done.stderr and "mqtt.url: its password" in done.stderr
    assert "changeme" not in done.stderr and "Password" not in done.stderr
    assert "Traceback" not in done.stderr


def test_the_edge_refuses_the_demo_supervisor_pin(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(
        '[node]\nsite = "p1"\narea = "a"\nline = "l1"\nname = "edge1"\n'
        f'data_dir = "{tmp_path / "data"}"\n\n'
        f'[[supervisors]]\nbadge = "EMP-0900"\nname = "Copied"\npin_hash = "{DEMO_PIN_HASH}"\n'
    )
    done = floorsync("edge", "--config", str(config), "--broker", "mqtt://127.0.0.1:1")
    assert done.returncode == 2, done.stderr
    assert "supervisors EMP-0900: the demo's PIN hash" in done.stderr
    assert "floorsync edge pin-hash" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_the_demo_may_use_its_own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEMO_ENV, raising=False)
    with pytest.raises(ConfigError):
        refuse(["supervisors EMP-0900: the demo's PIN hash (PIN 1234)"])
    monkeypatch.setenv(DEMO_ENV, "1")
    refuse(["supervisors EMP-0900: the demo's PIN hash (PIN 1234)"])
    refuse([])
