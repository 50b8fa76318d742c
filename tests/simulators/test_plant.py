"""``sim plant`` from an edge config: one simulator per device, serial ports as links."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from simulators import ptys
from simulators.plant import PlantError, run_plant
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def line_config(tmp_path: Path) -> tuple[Path, int, int]:
    """The example line with its Modbus TCP and OPC UA machines on free ports (returned)
    and its serial ports under ``tmp_path``."""
    modbus, opcua = free_port(), free_port()
    text = (ROOT / "config" / "line.example.toml").read_text()
    text = text.replace("port = 15020", f"port = {modbus}")
    text = text.replace("127.0.0.1:4841", f"127.0.0.1:{opcua}")
    text = text.replace('"var/line/', f'"{tmp_path}/line/')
    config = tmp_path / "line.toml"
    config.write_text(text)
    return config, modbus, opcua


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_every_kind_is_simulated_where_the_config_looks_and_cleaned_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, modbus, opcua = line_config(tmp_path)
    links = [tmp_path / "line" / f"{n}.tty" for n in ("bender", "counter1", "scanner-st10")]

    async def scenario() -> None:
        stop = asyncio.Event()
        plant = asyncio.create_task(run_plant(config, 5.0, stop))
        try:
            while "scanner-st10" not in capsys.readouterr().out:  # printed once all started
                await asyncio.sleep(0.02)
            assert listening(modbus) and listening(opcua)
            for link in links:
                assert link.is_symlink() and link.resolve().is_char_device(), link
        finally:
            stop.set()
            await plant
        assert not any(link.is_symlink() for link in links), "links removed"

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_port_path_that_is_taken_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    config, _, _ = line_config(tmp_path)
    taken = tmp_path / "line" / "counter1.tty"
    taken.parent.mkdir()
    taken.write_text("a real device, say")

    async def scenario() -> None:
        with pytest.raises(PlantError, match=r"counter1\.tty"):
            await run_plant(config, 5.0, asyncio.Event())

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert taken.read_text() == "a real device, say"
    assert not (tmp_path / "line" / "bender.tty").exists(), "what was made is undone"


def test_only_a_dead_link_is_replaced_and_only_our_link_removed(tmp_path: Path) -> None:
    (tmp_path / "here").touch()
    dead, live = tmp_path / "dead.tty", tmp_path / "live.tty"
    dead.symlink_to(tmp_path / "gone")  # left by a simulator that was killed
    live.symlink_to(tmp_path / "here")
    ptys.link(dead, "/dev/null")
    assert dead.resolve() == Path("/dev/null")
    with pytest.raises(FileExistsError):
        ptys.link(live, "/dev/null")
    ptys.unlink(dead, "/dev/zero")  # not ours: stays
    assert dead.is_symlink()
    ptys.unlink(dead, "/dev/null")
    assert not dead.is_symlink()


def test_a_config_it_cannot_simulate_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(
        '[[devices]]\nname = "c1"\nkind = "serial_counter"\n'
        f'serial_port = "{tmp_path / "c1.tty"}"\n'
        '[[devices]]\nname = "press"\nkind = "modbus_tcp"\n'  # no host, no port
    )

    async def scenario() -> None:
        with pytest.raises(PlantError, match="cannot simulate: KeyError"):
            await run_plant(config, 5.0, asyncio.Event())

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert not (tmp_path / "c1.tty").exists()
