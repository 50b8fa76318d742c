"""A full edge store: telemetry thins out first, then new input is refused and nothing is lost.

The store gets a budget of half a megabyte (``[store] max_mb``), which SQLite enforces with
``PRAGMA max_page_count``: the store fills for real, the machine's disk does not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.api import create_app
from edge.devices.base import Reading
from edge.node import EdgeNode
from edge.outbox import Outbox, Recorded
from edge.settings import StoreSettings
from edge.store import STORE_FULL_MESSAGE, StoreBudget, StoreFull, Writer
from tests.edge.support import EDGE_ID
from tests.edge.test_workstations import ANNA, JONAS, WO, Terminal, events, line_edge, settings
from tests.helpers import EDGE_AUTH, TestClient

BUDGET_MB = 0.5


def _scan(n: int) -> dict[str, Any]:
    return {"device": "wedge", "raw": f"]C1EMP-{n:06d}", "code": "operator_badge"}


def fill(outbox: Outbox, level: str) -> int:
    """Record scans until the store reaches ``level``; how many were recorded."""
    recorded = 0
    while outbox.writer.usage().level != level:
        batch: list[Future[Recorded]] = [
            outbox.submit("scan", "ST-10", _scan(recorded + n)) for n in range(20)
        ]
        for future in batch:
            try:
                future.result()
                recorded += 1
            except StoreFull:
                assert level == "full"
    return recorded


def machine_states(node: EdgeNode) -> list[str]:
    node.writer.run(lambda _: None)  # the line queues its events: wait for the writer
    return [e["payload"]["state"] for e in events(node, "machine_state")]


def rows(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("outbox", "station_state", "kpi_minutes")
        }


def metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EdgeNode]:
    budget = StoreSettings(max_mb=BUDGET_MB, min_free_disk_mb=0)
    with line_edge(settings(tmp_path / "edge").model_copy(update={"store": budget})) as node:
        yield node


def test_a_full_store_refuses_new_input_keeps_what_it_has_and_recovers(node: EdgeNode) -> None:
    now = datetime.now(UTC)
    with TestClient(create_app(node, manage=False), headers=EDGE_AUTH) as client:
        terminal = Terminal(client)
        assert terminal.scan(ANNA).status_code == 200
        assert terminal.scan(WO).status_code == 200

        # Above the high-water mark: a warning, and a flapping machine is recorded once
        fill(node.outbox, "high")
        for n, value in enumerate([1, 3, 1, 3, 1, 3]):
            node.line.on_readings(
                [Reading("plc", "state", value, "good", now + timedelta(seconds=n))]
            )
        assert machine_states(node) == ["running"]
        line = client.get("/api/v1/line").json()
        assert line["store"]["level"] == "high"
        assert any(a["source"] == "store" and a["severity"] == "warning" for a in line["alarms"])
        assert metric(client, "floorsync_edge_telemetry_downsampled_total") == 2

        # Full: the next production report is refused, clearly, and nothing changes
        fill(node.outbox, "full")
        before, job = rows(node.writer.path), terminal.view()["job"]
        answer = terminal.post("report", {"good": 5})
        assert answer.status_code == 507, answer.text
        assert answer.json()["error"] == {"code": "store_full", "message": STORE_FULL_MESSAGE}
        assert rows(node.writer.path) == before
        view = terminal.view()
        assert view["job"] == job
        assert view["message"]["reason_code"] == "store_full"
        alarm = client.get("/api/v1/line").json()["alarms"][0]
        assert (alarm["severity"], alarm["source"]) == ("critical", "store")
        assert alarm["text"].startswith("Edge store full")
        assert metric(client, "floorsync_edge_store_full") == 1
        assert (
            client.post("/api/v1/scans", json={"station": "ST-99", "input": ANNA}).json()["error"][
                "code"
            ]
            == "store_full"
        )
        # a badge signing in at a terminal is a crew login: refused too, and no session
        sign_in = client.post("/api/v1/sessions", json={"badge": JONAS, "station": "ST-10"})
        assert sign_in.status_code == 507 and "token" not in sign_in.json()
        assert rows(node.writer.path) == before
        committed = events(node)

        # Central acknowledges the backlog: room again, no restart
        node.outbox.ack(node.outbox.last_seq).result()
        # every event committed before the store filled is still there, in order, no gaps
        assert [e["seq"] for e in committed] == list(range(1, len(committed) + 1))
        assert terminal.post("report", {"good": 5}).status_code == 200
        assert [e["kind"] for e in events(node)][-1] == "production_report"
        assert metric(client, "floorsync_edge_store_full") == 0
        assert all(a["source"] != "store" for a in client.get("/api/v1/line").json()["alarms"])
        # the machine's newest state, held back while the store was full, is recorded now
        node.line.on_readings([Reading("plc", "state", 3, "good", now + timedelta(seconds=9))])
        assert machine_states(node) == ["down"]


def test_the_writer_survives_sqlite_full_and_rolls_back_cleanly(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "edge.db", budget=StoreBudget(max_mb=BUDGET_MB, min_free_disk_mb=0))
    outbox = Outbox(writer, EDGE_ID)
    try:
        for n in range(20):
            outbox.append("scan", "ST-10", _scan(n))
        before = rows(writer.path)

        def too_big(conn: sqlite3.Connection) -> None:  # more than the whole budget at once
            conn.execute("INSERT INTO station_state VALUES ('ST-10', '{}', 0)")  # goes in...
            conn.execute(
                "INSERT INTO outbox (seq, event_id, kind, station, recorded_at, body)"
                " VALUES (999, 'x', 'scan', 'ST-10', 0, zeroblob(1048576))"
            )  # ...and this does not fit

        with pytest.raises(StoreFull):
            writer.run(too_big)
        assert rows(writer.path) == before
        assert writer.usage().level == "full"
        with pytest.raises(StoreFull, match="nothing was recorded"):
            outbox.append("scan", "ST-10", _scan(99))
        assert outbox.last_seq == 20 and rows(writer.path) == before
        writer.run(lambda conn: conn.execute("UPDATE outbox_state SET last_ack_at = 1"))

        outbox.ack(20).result()  # central has them all: rows deleted, pages free again
        assert writer.usage().level == "ok"
        assert outbox.append("scan", "ST-10", _scan(100)).seq == 21
    finally:
        outbox.close()
        writer.close()


def test_a_budget_smaller_than_the_store_starts_full(tmp_path: Path) -> None:
    """How the fault bench makes an edge's store full: ``[store] max_mb = 0.01``."""
    Writer(tmp_path / "edge.db").close()  # a fresh store, about 56 kB
    writer = Writer(tmp_path / "edge.db", budget=StoreBudget(max_mb=0.01))
    outbox = Outbox(writer, EDGE_ID)
    try:
        assert writer.usage().level == "full"
        with pytest.raises(StoreFull):
            outbox.append("scan", "ST-10", _scan(1))
        assert outbox.last_seq == 0
    finally:
        outbox.close()
        writer.close()


class DiskFullOnce(Writer):
    """A writer whose next unit meets a full disk (SQLITE_FULL on the WAL, which a store
    budget cannot make: it limits the database's pages, not the log's)."""

    full = True

    def run(self, work: Any) -> Any:
        if self.full:
            self.full = False
            raise StoreFull()
        return super().run(work)


def test_a_full_disk_after_an_unclean_stop_still_opens_and_asks_central(tmp_path: Path) -> None:
    """The unclean close cannot be noted on a full disk: the edge opens all the same and
    asks central for its sequence before sending, also after a rolled-back write."""
    writer = Writer(tmp_path / "edge.db")
    outbox = Outbox(writer, EDGE_ID)
    for n in range(20):
        outbox.append("scan", "ST-10", _scan(n))
    writer.close()  # no outbox.close(): the edge died, no marker says it closed cleanly
    writer = DiskFullOnce(tmp_path / "edge.db")
    outbox = Outbox(writer, EDGE_ID)
    try:
        assert writer.full is False and outbox.restored_seq == 20

        def fails(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE outbox_state SET last_ack_at = 1")
            raise RuntimeError("a step that fails and rolls back")

        with pytest.raises(RuntimeError):
            writer.run(fails)
        assert outbox.restored_seq == 20, "a rollback's reload keeps the unclean close"
    finally:
        outbox.close()
        writer.close()
