"""The station terminal and the line dashboard in headless Chromium, on a real line.

Real Mosquitto, real central and edge processes, a simulated Modbus machine counting
pieces; the dispatch list and master data are published to the broker retained, as
central publishes them. The worker types on the keyboard only, as a wedge scanner does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from edge.pins import hash_pin
from floorsync.bench.terminal import publish_dispatch, sign_in
from protocols.contract import EdgeAddress
from protocols.modbus import TagSpec
from simulators.modbus import ModbusMachine, Production
from tests.edge.test_workstations import (
    ANNA,
    BOARD,
    BOSS,
    JONAS,
    PIN,
    SCREW,
    WO,
    WO2,
    dispatch,
    label,
    master_data,
)
from tests.helpers import EDGE_API_TOKENS_TOML, EDGE_AUTH, Mosquitto, SimThread, free_port
from tests.integration.conftest import EDGE_ID, Proc, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]
ADDRESS = EdgeAddress(*EDGE_ID.split("/"))
# FLOORSYNC_SCREENSHOTS=docs/img bash scripts/test -k pages: refresh the docs' pictures
SHOTS = os.environ.get("FLOORSYNC_SCREENSHOTS")


@dataclass
class Line:
    broker: Mosquitto
    press: SimThread
    central: Proc
    edge: Proc
    engine: sa.Engine

    def central_events(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT seq, event_id, kind, payload FROM events ORDER BY seq")
            ).all()
        return [
            {
                "seq": seq,
                "event_id": event_id,
                "kind": kind,
                "payload": orjson.loads(p) if isinstance(p, str | bytes) else p,
            }
            for seq, event_id, kind, p in rows
        ]

    def edge_status(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.edge.url}/api/v1/status", headers=EDGE_AUTH, timeout=2)
        return answer.json()  # type: ignore[no-any-return]


def edge_config(tmp: Path, broker: Mosquitto, press_port: int) -> Path:
    config = tmp / "edge.toml"
    config.write_text(
        f"""
[node]
site = "plant1"
area = "assembly"
line = "line1"
name = "edge1"
data_dir = "{tmp / "edge"}"

[uplink]
ack_timeout_s = 1.0

[[devices]]
name = "press"
kind = "modbus_tcp"
host = "127.0.0.1"
port = {press_port}
interval_s = 0.2
timeout_s = 0.5
retries = 0
tags = [
  {{ name = "good", address = 0, type = "uint32" }},
  {{ name = "scrap", address = 2, type = "uint32" }},
  {{ name = "state", address = 4, type = "uint16" }},
]

[[stations]]
name = "ST-10"
machine = "M-10"
good_counter = "press.good"
scrap_counter = "press.scrap"
report_every_pieces = 5
report_every_s = 2.0
state = {{ tag = "press.state", values = {{ "0" = "idle", "1" = "running", "3" = "down" }} }}

[[stations]]
name = "ST-20"

[[shifts]]
name = "day"
start = "00:00"
end = "00:00"

[[supervisors]]
badge = "{BOSS}"
name = "Petra Boss"
pin_hash = "{hash_pin(PIN, iterations=1000)}"

{EDGE_API_TOKENS_TOML}"""
    )
    return config


@pytest.fixture
def line(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[Line]:
    good = TagSpec("good", "holding", 0, "uint32")
    scrap = TagSpec("scrap", "holding", 2, "uint32")
    state = TagSpec("state", "holding", 4, "uint16")
    machine = ModbusMachine(production=Production(good, scrap, state, rate=2.0), port=free_port())
    press = SimThread(machine)
    press.call(machine.start())
    logs = tmp_path / "logs"
    logs.mkdir()
    db = tmp_path / "central.db"
    central_port, edge_port = free_port(), free_port()
    central = Proc(
        "central",
        [
            *("central", "--database", f"sqlite:///{db}"),
            *("--broker", mosquitto.url, "--http-port", str(central_port)),
        ],
        central_port,
        logs,
    )
    config = edge_config(tmp_path, mosquitto, machine.port)
    edge = Proc(
        "edge",
        [
            *("edge", "--config", str(config)),
            *("--broker", mosquitto.url, "--http-port", str(edge_port)),
        ],
        edge_port,
        logs,
    )
    engine = sa.create_engine(f"sqlite:///{db}")
    central.start()
    publish_dispatch(mosquitto.url, dispatch(), master_data(), ADDRESS)
    edge.start()
    wait_for(
        "the dispatch list at the edge",
        lambda: (
            httpx.get(f"{edge.url}/api/v1/dispatch-list", headers=EDGE_AUTH, timeout=2).status_code
            == 200
        ),
    )
    try:
        yield Line(mosquitto, press, central, edge, engine)
    except BaseException:
        for proc in (edge, central):
            print(f"--- {proc.name}\n{proc.log.read_text()[-4000:]}")
        raise
    finally:
        edge.stop()
        central.stop()
        engine.dispose()
        press.stop()


def scan(page: Any, text: str) -> None:
    """A keyboard-wedge scanner: it types the code, then Enter."""
    page.focus("#scan")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def message(page: Any, verdict: str, contains: str) -> None:
    page.wait_for_selector(f"#message.{verdict}", timeout=10_000)
    page.wait_for_function(
        "t => document.querySelector('#message').textContent.includes(t)", arg=contains
    )


def number(page: Any, selector: str) -> int:
    return int(page.inner_text(selector).replace(",", "").strip() or 0)


def test_a_worker_works_an_operation_at_the_terminal_online_and_offline(
    line: Line, page: Any
) -> None:
    page.goto(f"{line.edge.url}/stations/ST-10")
    # locked until a badge signs in: an unknown one is refused and records nothing
    sign_in(page, "EMP-9999")
    page.wait_for_function(
        "document.querySelector('#signin-error').textContent.includes('not known')"
    )
    assert page.is_hidden("#job")  # nothing of the station shows while locked
    sign_in(page, ANNA)  # the sign-in logs Anna in at the station
    message(page, "accepted", "Welcome Anna Lindqvist")
    page.wait_for_function("document.body.dataset.viewAt")
    assert page.is_hidden("#offline")
    assert page.is_hidden("#signin")
    page.wait_for_selector("#crew >> text=Anna Lindqvist")
    scan(page, WO)
    message(page, "accepted", f"Started {WO} 10")
    page.wait_for_selector(f"#job >> text={WO}")
    assert number(page, "#target") == 20

    scan(page, label(SCREW, "S1", count=5))
    message(page, "refused", "Wrong material")
    assert page.get_attribute("#message", "data-reason") == "not_in_bom"
    scan(page, label(BOARD, "L1", count=5))
    message(page, "accepted", "Lot L1 of PCB-1 issued: 5 pcs")

    # the press counts pieces; the terminal shows them without a reload
    page.wait_for_function("Number(document.querySelector('#good').textContent) >= 2")
    page.reload()  # and a reload loses nothing: the worker sees the same station
    page.wait_for_selector("#crew >> text=Anna Lindqvist")
    message(page, "accepted", "Lot L1 of PCB-1 issued")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "terminal.png"))

    # the broker goes away: the terminal says so, and work goes on
    line.broker.stop()
    page.wait_for_selector("#offline", state="visible", timeout=10_000)
    scan(page, JONAS)
    message(page, "accepted", "Welcome Jonas Weber")
    scan(page, WO2)  # the next order: the first one's pieces are reported first
    message(page, "accepted", f"Started {WO2} 10")
    page.wait_for_selector(f"#job >> text={WO2}")
    scan(page, label(SCREW, "S2", count=1))
    message(page, "refused", "Wrong material")
    scan(page, label(BOARD, "L2", count=3))
    message(page, "accepted", "Lot L2 of PCB-1 issued: 3 pcs")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "terminal-offline.png"))
    assert line.edge_status()["outbox"]["depth"] > 0

    line.broker.start()
    page.wait_for_selector("#offline", state="hidden", timeout=30_000)

    def central_has_it_all() -> bool:
        # (the press's pieces are reported within report_every_s of being counted)
        outbox = line.edge_status()["outbox"]
        held = line.central_events()
        return bool(
            outbox["depth"] == 0
            and len(held) == outbox["last_seq"]
            and any(e["kind"] == "production_report" for e in held)
        )

    wait_for("central to hold every event", central_has_it_all, timeout=60)
    held = line.central_events()
    assert [e["seq"] for e in held] == list(range(1, len(held) + 1))
    assert len({e["event_id"] for e in held}) == len(held)
    issues = [e["payload"]["lot"] for e in held if e["kind"] == "material_issue"]
    assert issues == ["L1", "L2"]  # the refused lots were never recorded, the others once
    logins = [e["payload"]["operator"] for e in held if e["kind"] == "operator_login"]
    assert logins == [ANNA, JONAS]
    reports = [e["payload"] for e in held if e["kind"] == "production_report"]
    assert sum(r["good"] for r in reports if r["work_order"] == WO) >= 2  # as the page showed
    assert {r["work_order"] for r in reports} <= {WO, WO2}

    # Anna scans her badge to log out: her sign-in ends and the terminal locks
    scan(page, ANNA)
    page.wait_for_selector("#signin", state="visible", timeout=10_000)
    page.wait_for_selector("#signin-error >> text=logged out of this station")


def test_the_dashboard_shows_a_machine_going_down_without_a_reload(line: Line, page: Any) -> None:
    page.goto(f"{line.edge.url}/line")
    sign_in(page, ANNA, "1111")  # an operator may not open the line
    page.wait_for_selector("#signin-error >> text=supervisor")
    sign_in(page, BOSS, PIN)
    page.wait_for_selector("#who >> text=Petra Boss")
    card = '[data-station="ST-10"]'
    page.wait_for_function(
        "s => document.querySelector(s + ' .state')?.dataset.state === 'running'", arg=card
    )
    page.evaluate("window.__notReloaded = true")
    line.press.machine.set_state("down")
    page.wait_for_function(
        "s => document.querySelector(s + ' .state')?.dataset.state === 'down'",
        arg=card,
        timeout=5_000,
    )
    assert page.evaluate("window.__notReloaded") is True
    page.wait_for_selector("#alarms >> text=M-10 down")
    assert page.inner_text(f"{card} .oee-shift")  # OEE for the configured shift is shown
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "dashboard.png"), full_page=True)
