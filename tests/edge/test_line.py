"""The line: device readings become machine states and counted pieces at stations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from edge.devices.base import Reading
from edge.line import Line
from edge.node import EdgeNode
from edge.outbox import Outbox
from edge.settings import EdgeSettings, StationSettings
from edge.store import Writer
from protocols.modbus import TagSpec
from simulators.modbus import ModbusMachine, Production
from tests.edge.support import wait_until
from tests.helpers import SimThread, free_port

T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
STATION = StationSettings.model_validate(
    {
        "name": "ST-10",
        "machine": "M-PRESS-03",
        "good_counter": "press.good",
        "scrap_counter": "press.scrap",
        "counter_bits": 16,
        "max_rate": 10,
        "state": {
            "tag": "press.state",
            "reason_tag": "press.reason",
            "values": {"0": "idle", "1": "running", "2": "setup", "3": "down"},
        },
    }
)


def reading(tag: str, value: Any, seconds: float, quality: str = "good") -> Reading:
    return Reading("press", tag, value, quality, T0 + timedelta(seconds=seconds))  # type: ignore[arg-type]


def events(outbox: Outbox, kind: str) -> list[dict[str, Any]]:
    bodies = [orjson.loads(b) for _, b in outbox.read_after(0, 10_000)]
    return [b["payload"] for b in bodies if b["kind"] == kind]


def test_counters_book_rollover_and_flag_impossible_jumps(outbox: Outbox) -> None:
    line = Line([STATION], outbox)
    for seconds, value in ((0, 65530), (1, 65534), (2, 3), (3, 3), (4, 9000), (5, 9004)):
        line.on_readings([reading("good", value, seconds)])
    station = line.status()["ST-10"]
    # 65530 -> 65534 (4) -> 3 across the rollover (5) -> 3 again (0) -> 9000 impossible at
    # 10 pieces/s (not booked) -> 9004 (4)
    assert station["good"] == 13
    assert station["implausible_jumps"] == 1


def test_states_follow_the_rules_and_are_recorded_on_change(outbox: Outbox) -> None:
    line = Line([STATION], outbox)
    line.on_readings([reading("state", 1, 0)])
    line.on_readings([reading("state", 1, 1)])  # no change, nothing recorded
    line.on_readings([reading("reason", "JAM-12", 2), reading("state", 3, 2)])
    line.on_readings([reading("state", 7, 3)])  # a value no rule names: down, saying so
    line.on_readings([reading("state", 2, 4, quality="bad")])  # bad quality: ignored
    line.device_down("press", "timed out")
    outbox.writer.run(lambda conn: None)  # wait for the queued events' commit
    states = [(e["state"], e.get("reason")) for e in events(outbox, "machine_state")]
    assert states == [("running", None), ("down", "JAM-12"), ("offline", "timed out")]
    line.on_readings([reading("reason", "", 5), reading("state", 7, 5)])
    outbox.writer.run(lambda conn: None)
    assert events(outbox, "machine_state")[-1]["reason"] == "state value 7"


@pytest.fixture
def press() -> Iterator[SimThread]:
    good = TagSpec("good", "holding", 0, "uint32")
    scrap = TagSpec("scrap", "holding", 2, "uint32")
    state = TagSpec("state", "holding", 4, "uint16")
    machine = ModbusMachine(
        production=Production(good, scrap, state, rate=20, scrap_rate=2), port=free_port()
    )
    sim = SimThread(machine)
    sim.call(machine.start())
    yield sim
    sim.stop()


def test_an_edge_with_a_modbus_press_records_states_and_counts(
    press: SimThread, tmp_path: Path
) -> None:
    machine = press.machine
    settings = EdgeSettings.model_validate(
        {
            "node": {
                "site": "plant1",
                "area": "assembly",
                "line": "line1",
                "name": "edge1",
                "data_dir": str(tmp_path / "edge"),
            },
            "mqtt": {"url": f"mqtt://127.0.0.1:{free_port()}"},  # no broker: recording goes on
            "devices": [
                {
                    "name": "press",
                    "kind": "modbus_tcp",
                    "host": "127.0.0.1",
                    "port": machine.port,
                    "interval_s": 0.1,
                    "timeout_s": 0.3,
                    "retries": 0,
                    "tags": [
                        {"name": "good", "address": 0, "type": "uint32"},
                        {"name": "scrap", "address": 2, "type": "uint32"},
                        {"name": "state", "address": 4, "type": "uint16"},
                    ],
                }
            ],
            "stations": [
                {
                    "name": "ST-10",
                    "machine": "M-PRESS-03",
                    "good_counter": "press.good",
                    "scrap_counter": "press.scrap",
                    "max_rate": 100,
                    "state": {
                        "tag": "press.state",
                        "values": {"0": "idle", "1": "running", "2": "setup"},
                    },
                }
            ],
        }
    )
    node = EdgeNode(settings)
    node.start()
    try:
        wait_until(lambda: node.line.status()["ST-10"]["good"] >= 5, what="pieces counted")
        # (on a loaded machine a first poll may time out: offline, then running)
        wait_until(
            lambda: "running" in [e["state"] for e in events(node.outbox, "machine_state")],
            what="running recorded",
        )
        counted = node.line.status()["ST-10"]["good"]
        assert isinstance(counted, int) and 0 < counted <= machine.good_made

        machine.set_state("setup")
        wait_until(
            lambda: events(node.outbox, "machine_state")[-1]["state"] == "setup",
            what="setup recorded",
        )
        machine.stop_answering()
        wait_until(
            lambda: events(node.outbox, "machine_state")[-1]["state"] == "offline",
            what="offline recorded",
        )
        health = node.status()["devices"]["press"]
        assert health["connected"] is False and health["current_error"]
    finally:
        node.stop()


def test_a_restarted_edge_books_pieces_made_while_it_was_down_once(tmp_path: Path) -> None:
    def run(readings: list[tuple[float, int]], restart_at: float = 0.0) -> dict[str, Any]:
        writer = Writer(tmp_path / "edge.db")
        outbox = Outbox(writer, "plant1/assembly/line1/edge1")
        try:
            line = Line(
                [STATION], outbox, clock=lambda: (T0 + timedelta(seconds=restart_at)).timestamp()
            )
            for seconds, value in readings:
                line.on_readings([reading("good", value, seconds)])
            writer.run(lambda conn: None)  # the counter state is committed
            return line.status()["ST-10"]
        finally:
            outbox.close()
            writer.close()

    assert run([(0, 100), (1, 105)])["good"] == 5
    # Down for 10 s at most 10 pieces/s: the 40 made meanwhile are booked, the repeat is not.
    assert run([(11, 145), (12, 145)], restart_at=11)["good"] == 45
    # A restart that reads the same value books nothing; a device reset to 3 books 3.
    assert run([(13, 145), (14, 3)], restart_at=13)["good"] == 48
    # An impossible jump across the restart is flagged and its count survives the restart.
    assert run([(15, 60_000)], restart_at=15) == {
        **run([], restart_at=15),
        "good": 48,
        "implausible_jumps": 1,
    }
    # Down for longer than the 16-bit counter wraps at 10 pieces/s (6,554 s), a reset to
    # 200 would read as a rollover of 5,736 pieces: the counter starts afresh, books 0.
    later = 15 + 2 * 3600
    assert run([(later, 200), (later + 1, 203)], restart_at=later)["good"] == 48 + 3
