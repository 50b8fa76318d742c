"""Station workflows through the edge's HTTP API, on a real edge store, with no broker at all.

Every accepted step is an event in the outbox before the answer; every refusal says why
and records nothing. The edge here never reaches central: this is the offline case.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from edge.api import create_app
from edge.devices.base import Reading
from edge.node import EdgeNode
from edge.pins import hash_pin
from edge.settings import EdgeSettings
from tests.edge.support import ADDRESS, LAYOUT
from tests.edge.test_downlink import command
from tests.helpers import EDGE_API_TOKENS, EDGE_AUTH, TestClient, wait_until

WO = "WO-2026-000130"
WO2 = "WO-2026-000131"
BOARD = "04012345000122"
SCREW = "04012345000139"
ANNA, JONAS, MAREK, BOSS = "EMP-0042", "EMP-0057", "EMP-0043", "EMP-0900"
PIN = "4711"
PIN_HASH = hash_pin(PIN, iterations=1000)


DAY_START = f"{(datetime.now(UTC).hour + 12) % 24:02d}:00"


def dispatch() -> dict[str, Any]:
    ops = [
        {"operation": "10", "work_center": "SMT", "stations": ["ST-10"], "quantity": 20.0},
        {"operation": "20", "work_center": "QC", "stations": ["ST-20"], "quantity": 20.0},
    ]
    return {
        "orders": [
            {"work_order": WO, "item": "ASM-1", "quantity": 20.0, "sequence": 1, "operations": ops},
            {
                "work_order": WO2,
                "item": "ASM-1",
                "quantity": 5.0,
                "sequence": 2,
                "operations": [{**ops[0], "quantity": 5.0}],
            },
        ]
    }


def master_data() -> dict[str, Any]:
    return {
        "items": [
            {"item": "ASM-1", "description": "controller", "unit": "pcs"},
            {"item": "PCB-1", "description": "main board", "unit": "pcs", "gtin": BOARD},
            {"item": "SCR-1", "description": "screw", "unit": "pcs", "gtin": SCREW},
        ],
        "bom": [
            {
                "item": "ASM-1",
                "operation": "10",
                "component": "PCB-1",
                "quantity_per_unit": 1.0,
                "issue_tolerance": 0.1,
            }
        ],
        "routings": [
            {"item": "ASM-1", "operation": "10", "sequence": 10, "run_minutes_per_unit": 0.5},
            {"item": "ASM-1", "operation": "20", "sequence": 20, "inspection_required": True},
        ],
        "defect_codes": [{"code": "DEF-SCRATCH", "description": "scratch"}],
        "operators": [
            {"badge": ANNA, "name": "Anna Lindqvist", "skills": ["SMT", "QC"]},
            {"badge": JONAS, "name": "Jonas Weber", "skills": ["SMT"]},
            {"badge": MAREK, "name": "Marek Nowak", "skills": ["QC"]},
        ],
    }


def settings(data_dir: Path, **station: Any) -> EdgeSettings:
    return EdgeSettings.model_validate(
        {
            "node": {
                "site": ADDRESS.site,
                "area": ADDRESS.area,
                "line": ADDRESS.line,
                "name": ADDRESS.edge,
                "data_dir": str(data_dir),
            },
            "mqtt": {"url": "mqtt://127.0.0.1:9"},  # nothing listens: offline from central
            "devices": [
                {
                    "name": "plc",
                    "kind": "modbus_tcp",
                    "host": "127.0.0.1",
                    "port": 9,
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
                    "machine": "M-10",
                    "good_counter": "plc.good",
                    "scrap_counter": "plc.scrap",
                    "state": {"tag": "plc.state", "values": {"1": "running", "3": "down"}},
                    "ideal_cycle_s": 1.0,
                    **station,
                },
                {"name": "ST-20"},
            ],
            "supervisors": [{"badge": BOSS, "name": "Petra Boss", "pin_hash": PIN_HASH}],
            # a 24 h shift that began about 12 h ago: no test runs close to its start
            "shifts": [{"name": "day", "start": DAY_START, "end": DAY_START}],
            "terminal": {"pin_attempts": 3, "pin_lockout_s": 60},
            "api_tokens": EDGE_API_TOKENS,
        }
    )


def send(node: EdgeNode, name: str, body: dict[str, Any], version: int = 1) -> None:
    """Central's command, as the downlink receives it from the broker."""
    node.downlink.handle(LAYOUT.command(ADDRESS, name), command(version, body, name=name))
    wait_until(lambda: node.downlink.current(name) is not None, what=f"{name} cached")


def events(node: EdgeNode, kind: str | None = None) -> list[dict[str, Any]]:
    found = [orjson.loads(body) for _, body in node.outbox.read_after(0, 10_000)]
    return [e for e in found if kind is None or e["kind"] == kind]


class Terminal:
    """A station terminal as the page uses it: scans and forms over HTTP."""

    def __init__(self, client: TestClient, station: str = "ST-10") -> None:
        self.client, self.station = client, station

    def post(self, what: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1/stations/{self.station}/{what}", json=body)

    def scan(self, raw: str) -> Any:
        return self.post("scan", {"input": raw})

    def view(self) -> dict[str, Any]:
        answer = self.client.get(f"/api/v1/stations/{self.station}/view")
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]


def label(gtin: str, lot: str, *, count: int | None = None, expiry: str = "301231") -> str:
    text = f"]C101{gtin}10{lot}<GS>17{expiry}"
    return text + (f"<GS>30{count}" if count is not None else "")


@contextmanager
def line_edge(edge_settings: EdgeSettings) -> Iterator[EdgeNode]:
    """An edge node (not started) with central's dispatch list and master data cached."""
    node = EdgeNode(edge_settings)
    try:
        send(node, "dispatch_list", dispatch())
        send(node, "master_data", master_data())
        yield node
    finally:
        node.workstations.stop()
        node.outbox.close()
        node.writer.close()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EdgeNode]:
    with line_edge(settings(tmp_path / "edge")) as node:
        yield node


@pytest.fixture
def terminal(node: EdgeNode) -> Iterator[Terminal]:
    with TestClient(create_app(node, manage=False), headers=EDGE_AUTH) as client:
        yield Terminal(client)


def refused(answer: Any, code: str) -> str:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


def test_a_badge_scan_logs_in_and_out_and_records_both(node: EdgeNode, terminal: Terminal) -> None:
    answer = terminal.scan(ANNA)
    assert answer.status_code == 200 and answer.json()["message"] == "Welcome Anna Lindqvist."
    view = answer.json()["view"]
    assert [c["name"] for c in view["crew"]] == ["Anna Lindqvist"]
    assert view["next"]["expect"] == "work_order"
    assert view["online"] is False  # no broker: the terminal says so, and works on
    assert terminal.scan(ANNA).json()["view"]["crew"] == []
    assert [e["kind"] for e in events(node)] == ["operator_login", "operator_logout"]


def test_refusals_say_why_and_record_nothing(node: EdgeNode, terminal: Terminal) -> None:
    assert "not known" in refused(terminal.scan("EMP-9999"), "unknown_badge")
    assert "Log in first" in refused(terminal.scan(WO), "no_crew")
    refused(terminal.scan("hello"), "bad_scan")
    terminal.scan(ANNA)
    refused(terminal.scan("WO-2026-999999"), "unknown_work_order")
    refused(terminal.scan(label(BOARD, "L1", count=5)), "no_work_order")
    assert [e["kind"] for e in events(node)] == ["operator_login"]
    view = terminal.view()
    assert view["message"]["accepted"] is False
    assert view["message"]["reason_code"] == "no_work_order"
    metrics = terminal.client.get("/metrics").text
    assert 'floorsync_edge_station_refusals_total{reason="no_crew",station="ST-10"} 1.0' in metrics
    assert 'floorsync_edge_station_steps_total{station="ST-10"} 1.0' in metrics


def test_a_crew_member_without_the_skill_cannot_start_the_operation(terminal: Terminal) -> None:
    terminal.scan(ANNA)
    terminal.scan(MAREK)  # QC only; ST-10 runs SMT
    assert "not qualified" in refused(terminal.scan(WO), "missing_skill")
    terminal.scan(MAREK)
    assert terminal.scan(WO).status_code == 200
    assert "not qualified" in refused(terminal.scan(MAREK), "missing_skill")


def test_material_issue_checks_bom_expiry_and_quantity(node: EdgeNode, terminal: Terminal) -> None:
    terminal.scan(ANNA)
    started = terminal.scan(WO).json()["view"]
    assert started["job"]["work_order"] == WO and started["job"]["operation"] == "10"
    assert started["job"]["target"] == 20.0
    assert "Wrong material" in refused(terminal.scan(label(SCREW, "S1", count=5)), "not_in_bom")
    refused(terminal.scan(label(BOARD, "OLD", count=5, expiry="200101")), "lot_expired")
    ok = terminal.scan(label(BOARD, "L1", count=12))
    assert ok.status_code == 200 and "Lot L1 of PCB-1 issued: 12 pcs" in ok.json()["message"]
    # a label without a count asks for the quantity; the number is the next "scan"
    asked = terminal.scan(label(BOARD, "L2")).json()["view"]
    assert asked["next"]["expect"] == "quantity" and asked["pending"]["lot"] == "L2"
    done = terminal.scan("8").json()["view"]
    assert done["pending"] is None
    assert done["job"]["materials"][0]["issued"] == 20.0
    issues = [e["payload"] for e in events(node, "material_issue")]
    assert [(p["lot"], p["quantity"]) for p in issues] == [("L1", 12.0), ("L2", 8.0)]
    assert issues[0]["operators"] == [ANNA] and issues[0]["gtin"] == BOARD


def test_an_over_issue_needs_a_supervisor_pin_and_is_recorded_as_approved(
    node: EdgeNode, terminal: Terminal
) -> None:
    terminal.scan(ANNA)
    terminal.scan(WO)
    assert "A supervisor can approve" in refused(
        terminal.scan(label(BOARD, "L9", count=30)), "over_issue"
    )
    assert terminal.view()["pending"]["kind"] == "approval"
    wrong = terminal.post("approve", {"supervisor": BOSS, "pin": "0000"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "wrong_pin"
    assert events(node, "material_issue") == []
    ok = terminal.post("approve", {"supervisor": BOSS, "pin": PIN})
    assert ok.status_code == 200, ok.text
    [issue] = [e["payload"] for e in events(node, "material_issue")]
    assert issue["quantity"] == 30.0 and issue["over_issue_approved_by"] == BOSS


def test_wrong_pins_lock_the_supervisor_badge(terminal: Terminal) -> None:
    for _ in range(3):
        assert terminal.post("approve", {"supervisor": BOSS, "pin": "1111"}).status_code == 401
    locked = terminal.post("approve", {"supervisor": BOSS, "pin": PIN})
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "pin_locked"


def test_a_terminal_report_splits_across_the_crew(node: EdgeNode, terminal: Terminal) -> None:
    terminal.scan(ANNA)
    terminal.scan(JONAS)
    terminal.scan(WO)
    answer = terminal.post("report", {"good": 7, "scrap": 1})
    assert answer.status_code == 200, answer.text
    job = answer.json()["view"]["job"]
    assert (job["good"], job["scrap"], job["yield"]) == (7, 1, 0.875)
    [report] = [e["payload"] for e in events(node, "production_report")]
    assert report["source"] == "terminal" and (report["good"], report["scrap"]) == (7, 1)
    assert sorted(s["operator"] for s in report["crew"]) == [ANNA, JONAS]
    assert sum(s["good"] for s in report["crew"]) == 7
    refused(terminal.post("report", {"good": 0, "scrap": 0}), "bad_quantity")
    bad = terminal.post("report", {"good": -1})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_counted_pieces_become_reports_for_the_running_operation(
    node: EdgeNode, terminal: Terminal
) -> None:
    clock = [datetime.now(UTC) - timedelta(minutes=1)]

    def count(good: int, scrap: int = 0) -> None:
        clock[0] += timedelta(seconds=2)  # within the counter's physical rate
        ts = clock[0]
        node.line.on_readings(
            [Reading("plc", "good", good, "good", ts), Reading("plc", "scrap", scrap, "good", ts)]
        )

    count(100)  # the counters' first reading is their baseline
    count(103)  # no operation running: these pieces belong to nobody
    node.workstations.report_if_due(node.workstations.station("ST-10"))
    assert terminal.view()["unattributed"] == 3
    terminal.scan(ANNA)
    terminal.scan(WO)
    count(109, 1)  # 6 good + 1 scrap: under the 10-piece policy
    node.workstations.report_if_due(node.workstations.station("ST-10"))
    assert events(node, "production_report") == []
    assert terminal.view()["job"]["unreported"] == {"good": 6, "scrap": 1}
    count(113, 1)
    node.workstations.report_if_due(node.workstations.station("ST-10"))
    [report] = [e["payload"] for e in events(node, "production_report")]
    assert (report["good"], report["scrap"], report["source"]) == (10, 1, "counter")
    assert report["work_order"] == WO and report["operation"] == "10"
    assert terminal.view()["job"]["unreported"] == {"good": 0, "scrap": 0}


def test_reports_are_also_due_by_time(tmp_path: Path) -> None:
    every = settings(tmp_path / "edge", report_every_pieces=None, report_every_s=0.3)
    with line_edge(every) as node:
        node.workstations.start()
        ws = node.workstations
        ws.scan("ST-10", ANNA)
        ws.scan("ST-10", WO)
        now = datetime.now(UTC)
        node.line.on_readings([Reading("plc", "good", 5, "good", now)])
        node.line.on_readings([Reading("plc", "good", 7, "good", now + timedelta(seconds=1))])
        wait_until(lambda: events(node, "production_report"), what="timed report")
        [report] = [e["payload"] for e in events(node, "production_report")]
        assert report["good"] == 2


def test_inspection_gates_closing_and_rework_goes_back_in_the_routing(
    node: EdgeNode, tmp_path: Path
) -> None:
    with TestClient(create_app(node, manage=False), headers=EDGE_AUTH) as client:
        qc = Terminal(client, "ST-20")
        qc.scan(MAREK)
        qc.scan(WO)
        qc.post("report", {"good": 20})
        assert "needs an inspection" in refused(qc.post("close"), "inspection_required")
        assert qc.scan("DEF-SCRATCH").status_code == 200
        refused(
            qc.post(
                "inspection",
                {"inspected": 5, "disposition": "rework", "rework_operation": "30"},
            ),
            "bad_rework_operation",
        )
        refused(
            qc.post(
                "inspection",
                {"inspected": 5, "defects": [{"code": "DEF-NOPE"}], "disposition": "scrap"},
            ),
            "unknown_defect_code",
        )
        ok = qc.post(
            "inspection", {"inspected": 5, "disposition": "rework", "rework_operation": "10"}
        )
        assert ok.status_code == 200, ok.text
        [check] = [e["payload"] for e in events(node, "inspection")]
        assert check["defects"] == [{"code": "DEF-SCRATCH", "quantity": 1}]  # the scanned one
        assert (check["result"], check["rework_operation"], check["inspector"]) == (
            "fail",
            "10",
            MAREK,
        )
        closed = qc.post("close")
        assert closed.status_code == 200, closed.text
        assert closed.json()["view"]["job"] is None
        last = events(node, "production_report")[-1]["payload"]
        assert last["operation_end"] is True
        refused(qc.scan(WO), "operation_done")


def test_closing_short_needs_a_supervisor(node: EdgeNode, terminal: Terminal) -> None:
    terminal.scan(ANNA)
    terminal.scan(WO)
    terminal.post("report", {"good": 12})
    assert "Only 12 of 20" in refused(terminal.post("close"), "short_close")
    ok = terminal.post("close", {"supervisor": BOSS, "pin": PIN})
    assert ok.status_code == 200 and "approved by EMP-0900" in ok.json()["message"]


def test_switching_work_orders_reports_the_old_one_first(
    node: EdgeNode, terminal: Terminal
) -> None:
    terminal.scan(ANNA)
    terminal.scan(WO)
    ts = datetime.now(UTC)
    node.line.on_readings([Reading("plc", "good", 50, "good", ts)])
    node.line.on_readings([Reading("plc", "good", 53, "good", ts + timedelta(seconds=1))])
    assert terminal.scan(WO2).json()["view"]["job"]["work_order"] == WO2
    [report] = [e["payload"] for e in events(node, "production_report")]
    assert (report["work_order"], report["good"]) == (WO, 3)


def test_a_restarted_edge_keeps_each_station_where_it_was(tmp_path: Path) -> None:
    data = tmp_path / "edge"
    with line_edge(settings(data)) as node:
        ws = node.workstations
        ws.scan("ST-10", ANNA)
        ws.scan("ST-10", WO)
        ws.scan("ST-10", label(BOARD, "L1", count=4))
        ws.scan("ST-10", label(BOARD, "L2"))  # waiting for its quantity
        before = len(events(node))

    with line_edge(settings(data)) as again:
        with TestClient(create_app(again, manage=False), headers=EDGE_AUTH) as client:
            view = Terminal(client).view()
            assert [c["badge"] for c in view["crew"]] == [ANNA]
            assert view["job"]["work_order"] == WO
            assert view["job"]["materials"][0]["issued"] == 4.0
            assert view["next"]["expect"] == "quantity"
            assert view["message"]["text"].startswith("Lot L2 of PCB-1 is right")
            assert Terminal(client).scan("6").status_code == 200
        assert len(events(again)) == before + 1


def test_a_step_the_disk_refuses_records_nothing_and_says_so(
    node: EdgeNode, terminal: Terminal
) -> None:
    terminal.scan(ANNA)
    with sqlite3.connect(node.writer.path) as conn:  # a second writer holds the file
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("BEGIN EXCLUSIVE")
        node.writer._conn.execute("PRAGMA busy_timeout = 100")
        answer = terminal.scan(WO)
        conn.rollback()
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "cannot_record"
    assert terminal.view()["job"] is None
    assert [e["kind"] for e in events(node)] == ["operator_login"]


def test_unknown_station_is_404(terminal: Terminal) -> None:
    answer = terminal.client.post("/api/v1/stations/ST-99/scan", json={"input": ANNA})
    assert answer.status_code == 404
    assert terminal.client.get("/stations/ST-99").status_code == 404


def test_rework_reopens_the_operation_it_goes_back_to(node: EdgeNode) -> None:
    with TestClient(create_app(node, manage=False), headers=EDGE_AUTH) as client:
        smt, qc = Terminal(client, "ST-10"), Terminal(client, "ST-20")
        smt.scan(ANNA)
        smt.scan(WO)
        smt.post("report", {"good": 20})
        assert smt.post("close").status_code == 200
        refused(smt.scan(WO), "operation_done")
        qc.scan(MAREK)
        qc.scan(WO)
        rework = {"inspected": 2, "disposition": "rework", "rework_operation": "10"}
        assert qc.post("inspection", rework).status_code == 200
        again = smt.scan(WO)
        assert again.status_code == 200, again.text
        assert again.json()["view"]["job"]["operation"] == "10"


def test_the_line_view_has_states_oee_alarms_and_sync_health(
    node: EdgeNode, terminal: Terminal
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    node.line.on_readings([Reading("plc", "state", 1, "good", start)])
    node.line.on_readings([Reading("plc", "good", 0, "good", start)])
    terminal.scan(ANNA)
    terminal.scan(WO)
    # 240 good pieces in the eight minutes the press ran; then it goes down
    now = datetime.now(UTC)
    node.line.on_readings([Reading("plc", "good", 240, "good", start + timedelta(minutes=8))])
    node.line.on_readings([Reading("plc", "state", 3, "good", now - timedelta(minutes=2))])
    line = terminal.client.get("/api/v1/line").json()
    st10 = next(s for s in line["stations"] if s["station"] == "ST-10")
    assert (st10["state"], st10["reason"], st10["work_order"]) == ("down", "no reason given", WO)
    assert st10["crew"] == ["Anna Lindqvist"]
    oee = st10["oee"]["shift"]
    # the edge first saw the press ten minutes ago: that is the planned time so far
    assert oee["planned_s"] == pytest.approx(600, abs=5)
    assert oee["running_s"] == pytest.approx(480, abs=1)
    assert oee["availability"] == pytest.approx(0.8, abs=0.01)
    # the machine's ideal cycle, 1 s a piece, wins over the routing's 0.5 min
    assert oee["performance"] == pytest.approx(240 / 480, abs=0.01)
    assert oee["quality"] == 1.0
    assert line["shift"]["name"] == "day"
    texts = [a["text"] for a in line["alarms"]]
    assert texts[0] == "M-10 down: no reason given"  # critical first
    assert "Offline from central: stations keep working" in texts
    assert line["sync"]["connected"] is False and line["sync"]["outbox_depth"] >= 2


def test_parallel_wrong_pins_cannot_outrun_the_lockout(terminal: Terminal) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def guess(n: int) -> int:
        body = {"supervisor": BOSS, "pin": f"{1000 + n}"}
        return int(terminal.post("approve", body).status_code)

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(guess, range(12)))
    assert codes.count(401) <= 3 and codes.count(429) >= 9


def test_a_label_of_digits_is_not_taken_for_a_quantity(node: EdgeNode, terminal: Terminal) -> None:
    terminal.scan(ANNA)
    terminal.scan(WO)
    terminal.scan(label(BOARD, "L2"))  # waits for its quantity
    # a GS1 label without AIM prefix is all digits: it is a scan, not 1.04e22 pieces
    refused(terminal.scan(f"01{SCREW}17301231"), "not_in_bom")
    assert terminal.view()["pending"]["kind"] == "quantity"
    assert events(node, "material_issue") == []


def test_a_login_elsewhere_logs_out_here(node: EdgeNode) -> None:
    with TestClient(create_app(node, manage=False), headers=EDGE_AUTH) as client:
        smt, qc = Terminal(client, "ST-10"), Terminal(client, "ST-20")
        smt.scan(ANNA)
        qc.scan(ANNA)
        assert smt.view()["crew"] == [] and [c["badge"] for c in qc.view()["crew"]] == [ANNA]
    [out] = [e["payload"] for e in events(node, "operator_logout")]
    assert out == {"operator": ANNA, "reason": "replaced"}


def test_whoever_forgets_to_log_out_leaves_at_the_end_of_the_shift(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=3), now - timedelta(hours=1)
    cfg = settings(tmp_path / "edge").model_dump()
    cfg["shifts"] = [{"name": "early", "start": start.time(), "end": end.time()}]
    with line_edge(EdgeSettings.model_validate(cfg)) as node:
        ws = node.workstations
        ws.clock = lambda: (start + timedelta(minutes=5)).timestamp()  # logged in at 5 past
        ws.scan("ST-10", ANNA)
        ws.clock = time.time
        ws.end_shift(ws.station("ST-10"))
        assert ws.station("ST-10").state.crew.present == ()
        [out] = [e for e in events(node, "operator_logout")]
        assert out["payload"]["reason"] == "shift_end"
        stint = ws.station("ST-10").state.crew.stints[0]
        assert stint.end == end  # the hours end with the shift, not when noticed


def test_terminal_counts_at_a_machine_station_are_not_counted_twice_for_oee(
    node: EdgeNode, terminal: Terminal
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    node.line.on_readings([Reading("plc", "state", 1, "good", start)])
    node.line.on_readings([Reading("plc", "good", 0, "good", start)])
    terminal.scan(ANNA)
    terminal.scan(WO)
    node.line.on_readings([Reading("plc", "good", 5, "good", start + timedelta(minutes=1))])
    terminal.post("report", {"good": 2})  # reported with the counters' 5
    [report] = [e["payload"] for e in events(node, "production_report")]
    assert report["good"] == 7
    st10 = next(
        s for s in terminal.client.get("/api/v1/line").json()["stations"] if s["station"] == "ST-10"
    )
    assert st10["oee"]["shift"]["good"] == 7
