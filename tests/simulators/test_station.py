"""The line-mode station: it works the orders on a real edge's dispatch list, over HTTP."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest
import uvicorn

from edge.api import create_app
from edge.node import EdgeNode
from edge.settings import EdgeSettings, MqttSettings, NodeSettings
from protocols.contract import Command, TopicLayout, encode, validate_envelope
from simulators import station
from simulators.station import Job, LineStation, crew_for, lot_name, material, next_job, split
from tests.edge.support import ADDRESS, EDGE_ID
from tests.helpers import free_port, wait_until


def operation(op: str, work_center: str, station: str, quantity: float) -> dict[str, Any]:
    return {
        "operation": op,
        "work_center": work_center,
        "stations": [station],
        "quantity": quantity,
    }


DISPATCH = {
    "orders": [
        {
            "work_order": "WO-000008",
            "item": "VLV-BALL-25",
            "quantity": 6.0,
            "sequence": 2,
            "operations": [
                operation("10", "CNC", "ST-10", 6.0),
                operation("30", "TEST", "ST-30", 6.0),
            ],
        },
        {
            "work_order": "WO-000005",
            "item": "VLV-BALL-25",
            "quantity": 4.0,
            "sequence": 1,
            "operations": [
                operation("10", "CNC", "ST-10", 4.0),
                operation("30", "TEST", "ST-30", 4.0),
            ],
        },
    ]
}
MASTER_DATA = {
    "items": [
        {"item": "VLV-BALL-25", "description": "Ball valve", "unit": "pcs", "tracking": "lot"},
        {
            "item": "BODY-BALL-25",
            "description": "Body",
            "unit": "pcs",
            "tracking": "lot",
            "gtin": "04012345100256",
        },
        {"item": "BOLT-M10", "description": "Bolt", "unit": "pcs", "tracking": "lot"},
    ],
    "bom": [
        {"item": "VLV-BALL-25", "operation": "10", "component": "BODY-BALL-25",
         "quantity_per_unit": 1.0, "scrap_allowance": 0.02, "issue_tolerance": 0.0},
        {"item": "VLV-BALL-25", "operation": "10", "component": "BOLT-M10",
         "quantity_per_unit": 4.0, "scrap_allowance": 0.02, "issue_tolerance": 0.25},
    ],
    "routings": [
        {"item": "VLV-BALL-25", "operation": "10", "sequence": 10, "work_center": "CNC",
         "crew_size": 2, "inspection_required": False},
        {"item": "VLV-BALL-25", "operation": "30", "sequence": 30, "work_center": "TEST",
         "crew_size": 1, "inspection_required": True},
    ],
    "defect_codes": [{"code": "DEF-LEAK", "description": "Leak at the hydrostatic test"}],
    "operators": [
        {"badge": "EMP-0042", "name": "Anna Lindqvist", "skills": ["CNC"]},
        {"badge": "EMP-0043", "name": "Marek Nowak", "skills": ["CNC"]},
        {"badge": "EMP-0063", "name": "Inês Carvalho", "skills": ["TEST"]},
    ],
}  # fmt: skip


def test_a_station_takes_the_first_order_in_sequence_with_an_operation_of_its_own() -> None:
    orders = DISPATCH["orders"]
    first = next_job(orders, "ST-30", set())
    assert first == Job("WO-000005", "VLV-BALL-25", "30", "TEST", 4)
    assert next_job(orders, "ST-30", {("WO-000005", "30")}) == Job(
        "WO-000008", "VLV-BALL-25", "30", "TEST", 6
    )
    assert next_job(orders, "ST-30", {("WO-000005", "30"), ("WO-000008", "30")}) is None
    assert next_job(orders, "ST-99", set()) is None


def test_material_crew_and_shares_come_from_master_data() -> None:
    job = Job("WO-000005", "VLV-BALL-25", "10", "CNC", 4)
    issues = material(MASTER_DATA, job)
    assert [(i.item, i.quantity, i.gtin) for i in issues] == [
        ("BODY-BALL-25", 4.0, "04012345100256"),
        ("BOLT-M10", 16.0, None),
    ]
    assert issues[0].lot == lot_name("BODY-BALL-25", "WO-000005")
    assert lot_name("BOLT-M10", "WO-000005") in {f"BOLT-M10-L{n}" for n in (1, 2, 3)}
    assert material(MASTER_DATA, Job("WO-1", "OTHER", "10", "CNC", 4)) == []
    assert crew_for(MASTER_DATA, "CNC", 2) == ["EMP-0042", "EMP-0043"]
    assert crew_for(MASTER_DATA, "TEST", 2) == ["EMP-0063"]
    assert crew_for({}, "CNC", 1) == ["EMP-0042"]  # no master data yet: the default crew
    shares = split(7, ["a", "b", "c"], random.Random(1))
    assert sum(shares) == 7 and len(shares) == 3


class Recorded(NamedTuple):
    kind: str
    station: str
    payload: Any


class EdgeServer:
    """An edge node's HTTP API on a free port; the node itself is not started (no broker)."""

    def __init__(self, tmp_path: Path) -> None:
        settings = EdgeSettings(
            node=NodeSettings(
                site=ADDRESS.site,
                area=ADDRESS.area,
                line=ADDRESS.line,
                name=ADDRESS.edge,
                data_dir=tmp_path / "edge",
            ),
            mqtt=MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}"),
        )
        self.node = EdgeNode(settings)
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
        self.thread.start()
        wait_until(lambda: self.server.started, what="the edge's HTTP server")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.node.stop()

    def dispatch(self, listing: dict[str, Any], master: dict[str, Any]) -> None:
        """Cache commands as the downlink does when central's arrive."""
        layout = TopicLayout()
        for name, version, body in (("master_data", 1, master), ("dispatch_list", 1, listing)):
            command = Command(
                command=name,
                edge_id=EDGE_ID,
                version=version,
                issued_at=datetime.now(UTC),
                body=body,
            )
            self.node.downlink.handle(layout.command(ADDRESS, name), encode(command))

    def events(self) -> list[Recorded]:
        """What the stations recorded, in sequence, each payload parsed by its kind's model."""
        envelopes = [
            validate_envelope(orjson.loads(body))
            for _, body in self.node.outbox.read_after(0, 100_000)
        ]
        return [Recorded(e.kind, e.station, e.parsed_payload()) for e in envelopes]


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path)
    server.start()
    yield server
    server.stop()


def ended(edge: EdgeServer, station_code: str) -> set[tuple[str, str]]:
    return {
        (e.payload.work_order, e.payload.operation)
        for e in edge.events()
        if e.kind == "production_report" and e.station == station_code and e.payload.operation_end
    }


def run(sim: LineStation) -> threading.Thread:
    thread = threading.Thread(target=sim.run, name=f"station-{sim.station}")
    thread.start()
    return thread


def test_line_stations_issue_report_and_inspect_each_order_to_its_end(
    edge: EdgeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(station, "REJECT_CHANCE", 1.0)  # every inspection finds one to scrap
    sims = [
        LineStation(edge.url, "ST-10", machine="CNC-01", rate=100, poll_s=0.05, seed=1),
        LineStation(edge.url, "ST-30", machine="TEST-01", rate=100, poll_s=0.05, seed=2),
    ]
    threads = [run(sim) for sim in sims]  # polling while there is no dispatch list yet
    edge.dispatch(DISPATCH, MASTER_DATA)
    orders = {("WO-000005", "10"), ("WO-000008", "10")}
    tests = {("WO-000005", "30"), ("WO-000008", "30")}
    try:
        wait_until(lambda: ended(edge, "ST-10") == orders, 30, "ST-10 to end both operations")
        wait_until(lambda: ended(edge, "ST-30") == tests, 30, "ST-30 to end both operations")
    finally:
        for sim in sims:
            sim.stop()
        for thread in threads:
            thread.join(15)
    assert not any(t.is_alive() for t in threads)
    assert all(sim.refused == 0 for sim in sims)

    events = edge.events()
    logins = [(e.station, e.payload.operator) for e in events if e.kind == "operator_login"]
    assert sorted(logins) == [("ST-10", "EMP-0042"), ("ST-10", "EMP-0043"), ("ST-30", "EMP-0063")]
    issues = [e.payload for e in events if e.kind == "material_issue"]
    assert sorted((p.work_order, p.item, p.quantity) for p in issues) == [
        ("WO-000005", "BODY-BALL-25", 4.0),
        ("WO-000005", "BOLT-M10", 16.0),
        ("WO-000008", "BODY-BALL-25", 6.0),
        ("WO-000008", "BOLT-M10", 24.0),
    ]
    assert all(p.operation == "10" and p.operators == ["EMP-0042", "EMP-0043"] for p in issues)

    for wo, quantity in (("WO-000005", 4), ("WO-000008", 6)):
        cnc = [e.payload for e in events if e.kind == "production_report" and e.station == "ST-10"]
        cnc = [p for p in cnc if p.work_order == wo]
        assert sum(p.good for p in cnc) == quantity
        assert [p.operation_end for p in cnc] == [False] * (len(cnc) - 1) + [True]
        assert all(sum(s.good for s in p.crew) == p.good for p in cnc)

        # ST-30 inspects: a sample accepted and one piece scrapped, both before the last
        # report, which makes the scrapped piece again.
        test = [
            e for e in events if e.station == "ST-30" and getattr(e.payload, "work_order", "") == wo
        ]
        kinds = [e.kind for e in test]
        assert kinds[-3:] == ["inspection", "inspection", "production_report"]
        accept, scrap = test[-3].payload, test[-2].payload
        assert (accept.disposition, accept.inspected, accept.inspector) == (
            "accept",
            min(quantity, 5),
            "EMP-0063",
        )
        assert (scrap.disposition, scrap.inspected) == ("scrap", 1)
        assert [(d.code, d.quantity) for d in scrap.defects] == [("DEF-LEAK", 1)]
        reports = [e.payload for e in test if e.kind == "production_report"]
        assert sum(p.good for p in reports) == quantity + 1
        assert reports[-1].operation_end

    # a stopped station logs its crew out
    logouts = [e.payload for e in events if e.kind == "operator_logout"]
    assert {(p.operator, p.reason) for p in logouts} == {
        ("EMP-0042", "shift_end"),
        ("EMP-0043", "shift_end"),
        ("EMP-0063", "shift_end"),
    }


def test_the_cli_station_stops_cleanly_on_sigterm(edge: EdgeServer) -> None:
    edge.dispatch(DISPATCH, MASTER_DATA)
    proc = subprocess.Popen(
        [sys.executable, "-m", "floorsync", "sim", "station", "--edge-url", edge.url,
         "--station", "ST-10", "--rate", "5", "--poll", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until(
            lambda: any(e.kind == "production_report" for e in edge.events()),
            30,
            "the station's first report",
        )
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out.decode()
    assert b"Traceback" not in out
    kinds = [e.kind for e in edge.events()]
    assert kinds[-3:] == ["operator_logout", "operator_logout", "machine_state"]


def test_a_restarted_terminal_works_only_what_central_says_is_left() -> None:
    def op(name: str, status: str, good: int) -> dict[str, Any]:
        return {
            "operation": name,
            "work_center": "CNC",
            "stations": ["ST-10"],
            "quantity": 20.0,
            "status": status,
            "good": good,
        }

    orders = [
        {"work_order": "WO-1", "item": "V", "quantity": 20.0, "sequence": 1,
         "operations": [op("10", "done", 20)]},
        {"work_order": "WO-2", "item": "V", "quantity": 20.0, "sequence": 2,
         "operations": [op("10", "running", 12)]},
    ]  # fmt: skip
    job = next_job(orders, "ST-10", set())
    assert job is not None and (job.work_order, job.quantity) == ("WO-2", 8)
    assert next_job(orders, "ST-10", {("WO-2", "10")}) is None
