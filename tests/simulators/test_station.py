"""The line-mode station: a crew working a real edge's station terminals over HTTP.

The edge here is a real node (its HTTP API, workflow, reporter and device polling) with
central's commands handed to its downlink as the broker would; the machine of the
counting station is ``floorsync sim plant`` in its own process, as in the demo.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest
import uvicorn

from edge.api import create_app
from edge.node import EdgeNode
from edge.pins import hash_pin
from edge.settings import EdgeSettings
from edge.stations import workflow as wf
from protocols.barcode import parse_scan
from protocols.contract import Command, TopicLayout, encode, validate_envelope
from simulators import station
from simulators.station import (
    DEMO_SUPERVISOR,
    Issue,
    LineStation,
    crew_for,
    lot_label,
    lot_name,
    next_order,
    to_issue,
)
from tests.edge.support import ADDRESS, EDGE_ID
from tests.helpers import free_port, wait_until

WO5, WO8 = "WO-2026-000005", "WO-2026-000008"
BODY, SEAT = "04012345100259", "04012345130256"  # GTINs of the demo company's parts
MAREK, ANNA, INES, PIETER = "EMP-0043", "EMP-0042", "EMP-0063", "EMP-0085"


def order(work_order: str, sequence: int, quantity: float, *ops: tuple[str, str, str]) -> Any:
    return {
        "work_order": work_order,
        "item": "VLV-BALL-25",
        "quantity": quantity,
        "sequence": sequence,
        "operations": [
            {"operation": op, "work_center": wc, "stations": [st], "quantity": quantity}
            for op, wc, st in ops
        ],
    }


CNC, TEST = ("10", "CNC", "ST-10"), ("30", "TEST", "ST-30")
DISPATCH = {"orders": [order(WO8, 2, 6.0, CNC, TEST), order(WO5, 1, 4.0, CNC, TEST)]}
MASTER_DATA = {
    "items": [
        {"item": "VLV-BALL-25", "description": "Ball valve", "unit": "pcs", "tracking": "lot"},
        {"item": "BODY-BALL-25", "description": "Body", "unit": "pcs", "gtin": BODY},
        {"item": "SEAT-PTFE-25", "description": "Seat ring", "unit": "pcs", "gtin": SEAT},
        {"item": "BOLT-M10", "description": "Bolt, no label", "unit": "pcs"},
    ],
    "bom": [
        {"item": "VLV-BALL-25", "operation": "10", "component": "BODY-BALL-25",
         "quantity_per_unit": 1.0, "scrap_allowance": 0.02},
        {"item": "VLV-BALL-25", "operation": "10", "component": "SEAT-PTFE-25",
         "quantity_per_unit": 2.0},
        {"item": "VLV-BALL-25", "operation": "10", "component": "BOLT-M10",
         "quantity_per_unit": 4.0},
    ],
    "routings": [
        {"item": "VLV-BALL-25", "operation": "10", "sequence": 10, "work_center": "CNC",
         "crew_size": 2, "inspection_required": False},
        {"item": "VLV-BALL-25", "operation": "30", "sequence": 30, "work_center": "TEST",
         "crew_size": 1, "inspection_required": True},
    ],
    "defect_codes": [{"code": "DEF-LEAK", "description": "Leak at the hydrostatic test"}],
    "operators": [
        {"badge": ANNA, "name": "Anna Lindqvist", "skills": ["CNC", "ASSY"]},
        {"badge": PIETER, "name": "Pieter de Vries", "skills": ["CNC", "ASSY", "TEST"]},
        {"badge": MAREK, "name": "Marek Nowak", "skills": ["CNC"]},
        {"badge": INES, "name": "Inês Carvalho", "skills": ["TEST"]},
    ],
}  # fmt: skip

MANUAL_LINE = """
[[stations]]
name = "ST-10"

[[stations]]
name = "ST-30"
"""


def counting_line(port: int) -> str:
    """ST-10 with a Modbus machine counting its pieces, reported every 5 pieces or 1 s."""
    return f"""
[[devices]]
name = "cnc-01"
kind = "modbus_tcp"
host = "127.0.0.1"
port = {port}
interval_s = 0.2
tags = [
    {{ name = "good", address = 0, type = "uint32" }},
    {{ name = "scrap", address = 2, type = "uint32" }},
    {{ name = "state", address = 4, type = "uint16" }},
]

[[stations]]
name = "ST-10"
machine = "CNC-01"
good_counter = "cnc-01.good"
scrap_counter = "cnc-01.scrap"
report_every_pieces = 5
report_every_s = 1

[stations.state]
tag = "cnc-01.state"
values = {{ "0" = "idle", "1" = "running", "2" = "setup", "3" = "down" }}
"""


class Recorded(NamedTuple):
    kind: str
    station: str
    payload: Any


# the simulated crew signs the terminal in as the demo's supervisor, as in the demo
SUPERVISOR = (
    f'\n[[supervisors]]\nbadge = "{DEMO_SUPERVISOR[0]}"\nname = "Demo Supervisor"\n'
    f'pin_hash = "{hash_pin(DEMO_SUPERVISOR[1], iterations=1000)}"\n'
)


class EdgeServer:
    """A real edge node with its HTTP API on a free port; no broker, so no uplink."""

    def __init__(self, tmp_path: Path, line: str) -> None:
        self.config = tmp_path / "edge.toml"
        self.config.write_text(
            f'[node]\nsite = "{ADDRESS.site}"\narea = "{ADDRESS.area}"\n'
            f'line = "{ADDRESS.line}"\nname = "{ADDRESS.edge}"\n'
            f'data_dir = "{tmp_path / "edge"}"\n' + line + SUPERVISOR
        )
        self.node = EdgeNode(EdgeSettings.model_validate(tomllib.loads(self.config.read_text())))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            create_app(self.node, manage=False),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="edge-http")

    def start(self) -> None:
        self.node.workstations.start()
        self.node.devices.start()
        self.thread.start()
        wait_until(lambda: self.server.started, what="the edge's HTTP server")

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.ident is not None:
            self.thread.join(10)
        self.node.stop()

    def dispatch(self, listing: dict[str, Any], master: dict[str, Any]) -> None:
        """Central's commands, handed to the downlink as they arrive from the broker."""
        layout = TopicLayout()
        for name, body in (("master_data", master), ("dispatch_list", listing)):
            command = Command(
                command=name, edge_id=EDGE_ID, version=1, issued_at=datetime.now(UTC), body=body
            )
            self.node.downlink.handle(layout.command(ADDRESS, name), encode(command))

    def events(self) -> list[Recorded]:
        """What the edge recorded, in sequence, each payload parsed by its kind's model."""
        envelopes = [
            validate_envelope(orjson.loads(body))
            for _, body in self.node.outbox.read_after(0, 100_000)
        ]
        return [Recorded(e.kind, e.station, e.parsed_payload()) for e in envelopes]

    def of(self, kind: str, station_code: str | None = None) -> list[Any]:
        return [
            e.payload for e in self.events() if e.kind == kind and station_code in (None, e.station)
        ]

    def closed(self, station_code: str) -> set[tuple[str, str]]:
        return {
            (p.work_order, p.operation)
            for p in self.of("production_report", station_code)
            if p.operation_end
        }


@pytest.fixture
def manual_edge(tmp_path: Path) -> Iterator[EdgeServer]:
    edge = EdgeServer(tmp_path, MANUAL_LINE)
    edge.start()
    edge.dispatch(DISPATCH, MASTER_DATA)
    yield edge
    edge.stop()


@pytest.fixture
def counting_edge(tmp_path: Path) -> Iterator[EdgeServer]:
    """ST-10's machine simulated by ``floorsync sim plant`` on the edge's own config."""
    edge = EdgeServer(tmp_path, counting_line(free_port()))
    plant = subprocess.Popen(
        [sys.executable, "-m", "floorsync", "sim", "plant", "--config", str(edge.config),
         "--rate", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert plant.stdout is not None
        assert "simulating 1 device(s)" in plant.stdout.readline()
        edge.start()
        yield edge
    finally:
        edge.stop()  # before its machine: a machine gone is a device error to log
        plant.send_signal(signal.SIGTERM)
        plant.communicate(timeout=15)


class Running:
    """Line stations working in threads until the test is done with them."""

    def __init__(self, *sims: LineStation) -> None:
        self.sims = sims
        self.threads = [threading.Thread(target=s.run, name=f"sim-{s.station}") for s in sims]

    def __enter__(self) -> Running:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for sim in self.sims:
            sim.stop()
        for thread in self.threads:
            thread.join(15)
        assert not any(t.is_alive() for t in self.threads), "a station did not stop"


def line_station(edge: EdgeServer, name: str, seed: int) -> LineStation:
    return LineStation(edge.url, name, rate=50, poll_s=0.05, seed=seed, backoff_s=0.2)


def test_a_manual_line_logs_in_issues_reports_inspects_and_closes_each_order(
    manual_edge: EdgeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    edge = manual_edge
    monkeypatch.setattr(station, "REJECT_CHANCE", 1.0)  # every inspection scraps a piece
    cnc, test = line_station(edge, "ST-10", 1), line_station(edge, "ST-30", 2)
    with Running(cnc, test):
        both = {(WO5, "10"), (WO8, "10")}
        wait_until(lambda: edge.closed("ST-10") == both, 20, "ST-10 to close both orders")
        both = {(WO5, "30"), (WO8, "30")}
        wait_until(lambda: edge.closed("ST-30") == both, 20, "ST-30 to close both orders")
    assert (cnc.refused, test.refused) == (0, 0)
    assert (cnc.closed, test.closed, cnc.counting) == (2, 2, False)

    # the routing's crews, specialists first, logged in by badge and out at the stop
    for code, crew in (("ST-10", [MAREK, ANNA]), ("ST-30", [INES])):
        assert [p.operator for p in edge.of("operator_login", code)] == crew
        assert sorted(p.operator for p in edge.of("operator_logout", code)) == sorted(crew)

    # each BOM line with a label issued in full from the order's lot: a whole count on
    # the label, 4.08 typed after it; the bolts have no GTIN, so nothing is scanned
    issues = sorted(
        (p.work_order, p.item, p.lot, p.quantity, p.gtin) for p in edge.of("material_issue")
    )
    assert issues == [
        (WO5, "BODY-BALL-25", lot_name("BODY-BALL-25", WO5), 4.08, BODY),
        (WO5, "SEAT-PTFE-25", lot_name("SEAT-PTFE-25", WO5), 8.0, SEAT),
        (WO8, "BODY-BALL-25", lot_name("BODY-BALL-25", WO8), 6.12, BODY),
        (WO8, "SEAT-PTFE-25", lot_name("SEAT-PTFE-25", WO8), 12.0, SEAT),
    ]
    assert all(p.operators == [MAREK, ANNA] for p in edge.of("material_issue"))

    for wo, quantity in ((WO5, 4), (WO8, 6)):
        # counted by hand at the terminal, split over the crew, the close the last report
        reports = [p for p in edge.of("production_report", "ST-10") if p.work_order == wo]
        assert sum(p.good for p in reports) == quantity
        assert [p.operation_end for p in reports] == [False] * (len(reports) - 1) + [True]
        assert all(p.source == "terminal" for p in reports)
        assert {s.operator for p in reports[:-1] for s in p.crew} == {MAREK, ANNA}

        # the test bench makes one piece more, samples, scraps one with the scanned code
        checks = [p for p in edge.of("inspection", "ST-30") if p.work_order == wo]
        assert [(p.disposition, p.inspected, p.inspector) for p in checks] == [
            ("accept", min(quantity + 1, 5), INES),
            ("scrap", 1, INES),
        ]
        assert [(d.code, d.quantity) for d in checks[1].defects] == [("DEF-LEAK", 1)]
        tested = [p for p in edge.of("production_report", "ST-30") if p.work_order == wo]
        assert sum(p.good for p in tested) == quantity + 1

    # what the terminals show now: nobody logged in, nothing running
    for sim in (cnc, test):
        state = edge.node.workstations.station(sim.station).state
        assert state.job is None and state.crew.present == ()


def test_a_counting_station_leaves_the_reports_to_its_machine(
    counting_edge: EdgeServer,
) -> None:
    edge = counting_edge
    edge.dispatch({"orders": [order(WO5, 1, 12.0, CNC)]}, MASTER_DATA)
    cnc = line_station(edge, "ST-10", 3)
    with Running(cnc):
        wait_until(lambda: edge.closed("ST-10") == {(WO5, "10")}, 20, "the operation closed")
    assert cnc.counting is True and cnc.refused == 0
    reports = edge.of("production_report", "ST-10")
    assert sum(p.good for p in reports) >= 12
    # every piece came from the machine's counter: the crew typed no count
    assert all(p.source == "counter" for p in reports if p.good or p.scrap)
    assert len(reports) >= 2 and reports[-1].operation_end
    assert sorted((p.item, p.quantity) for p in edge.of("material_issue")) == [
        ("BODY-BALL-25", 12.24),
        ("SEAT-PTFE-25", 24.0),
    ]


def test_an_operation_closed_here_before_is_skipped_after_saying_so(
    manual_edge: EdgeServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A restarted crew finds WO5's operation closed at the edge (central has not heard yet),
    and someone the routing does not need still logged in."""
    edge, ws = manual_edge, manual_edge.node.workstations
    ws.scan("ST-10", PIETER)
    ws.scan("ST-10", WO5)
    ws.run("ST-10", lambda s, c: wf.report(s, c, 4, 0))
    ws.close("ST-10", None, None)
    cnc = line_station(edge, "ST-10", 4)
    with caplog.at_level(logging.INFO, logger="simulators.station"), Running(cnc):
        wait_until(lambda: (WO8, "10") in edge.closed("ST-10"), 20, "ST-10 to close WO8")
    assert cnc.refused == 1 and cnc.done == {(WO5, "10"), (WO8, "10")}
    [refusal] = [r for r in caplog.records if r.getMessage() == "refused"]
    assert refusal.__dict__["code"] == "operation_done" and "already finished" in str(
        refusal.__dict__["error"]
    )
    # WO5 as it was left: reported and closed before; the crew made none of it again
    wo5 = [(p.good, p.operation_end) for p in edge.of("production_report") if p.work_order == WO5]
    assert wo5 == [(4, False), (0, True)]
    logouts = [p.operator for p in edge.of("operator_logout")]
    assert logouts[0] == PIETER  # not wanted for the routing's crew: out before the start


def test_the_cli_station_logs_its_crew_out_on_sigterm(manual_edge: EdgeServer) -> None:
    edge = manual_edge
    proc = subprocess.Popen(
        [sys.executable, "-m", "floorsync", "sim", "station", "--edge-url", edge.url,
         "--station", "ST-10", "--rate", "5", "--poll", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until(lambda: edge.of("production_report"), 20, "the station's first report")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out.decode()
    assert b"Traceback" not in out
    kinds = [e.kind for e in edge.events()]
    assert kinds[-2:] == ["operator_logout", "operator_logout"]
    assert edge.node.workstations.station("ST-10").state.crew.present == ()


def test_the_next_order_crew_and_labels_are_what_a_worker_would_pick() -> None:
    orders = [
        {"work_order": WO5, "operation": "10", "status": "done"},
        {"work_order": WO8, "operation": "10", "status": "running"},
        {"work_order": "WO-2026-000009", "operation": "10", "status": "pending"},
    ]
    assert next_order(orders, set()) == orders[1]
    assert next_order(orders, {(WO8, "10")}) == orders[2]
    assert next_order(orders, {(WO8, "10"), ("WO-2026-000009", "10")}) is None

    operators = MASTER_DATA["operators"]
    assert crew_for(operators, "CNC", 2) == [MAREK, ANNA]  # the specialist first
    assert crew_for(operators, "TEST", 3) == [INES, PIETER]  # all there are
    assert crew_for(operators, "PAINT", 1) == []

    materials = [
        {"component": "BODY-BALL-25", "required": 4.08, "issued": 1.0},
        {"component": "SEAT-PTFE-25", "required": 8.0, "issued": 8.0},
        {"component": "BOLT-M10", "required": 16.0, "issued": 0.0},
    ]
    body, bolt = to_issue(materials, MASTER_DATA["items"], WO5)
    assert body == Issue("BODY-BALL-25", lot_name("BODY-BALL-25", WO5), 3.08, BODY)
    assert bolt.gtin is None and bolt.quantity == 16.0
    label, typed = body.scans()
    assert typed == "3.08"
    whole = Issue("SEAT-PTFE-25", "SEAT-PTFE-25-L3", 12.0, SEAT).scans()
    # what the edge reads off the labels: GTIN, lot (AI 10 takes up to 20) and count
    read = [parse_scan(raw) for raw in (label, *whole)]
    assert [(s.gtin, s.batch, s.count) for s in read] == [
        (BODY, body.lot, None),
        (SEAT, "SEAT-PTFE-25-L3", 12),
    ]
    assert parse_scan(lot_label(BODY, "A" * 20, 99_999_999)).batch == "A" * 20
    assert {lot_name("BOLT-M10", f"WO-2026-{n:06d}") for n in range(20)} == {
        f"BOLT-M10-L{n}" for n in (1, 2, 3)
    }
