"""Scheduling runs over the demo company's order book, and the Gantt chart's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from central.db.domain import operation_tasks
from central.seed import load_demo_company
from tests.central.api.conftest import Api


def demo(engine: Engine) -> None:
    with engine.begin() as conn:
        load_demo_company(conn, edge_id="plant1/assembly/line1/edge1", now=datetime.now(UTC))


def planned(engine: Engine) -> int:
    with engine.connect() as conn:
        rows = conn.execute(
            select(operation_tasks.c.id).where(operation_tasks.c.planned_start.is_not(None))
        ).all()
    return len(rows)


def test_a_what_if_run_proposes_without_saving_and_a_saved_one_is_on_the_gantt(
    sqlite_api: Api, sqlite_engine: Engine
) -> None:
    demo(sqlite_engine)
    before = planned(sqlite_engine)
    proposal = sqlite_api.ok(sqlite_api.post("/schedule-runs", {}, user="planner"))
    assert proposal["saved"] is False and planned(sqlite_engine) == before
    assert proposal["operations"] and proposal["kpis"]["makespan_minutes"] > 0
    assert set(proposal["kpis"]["utilisation"]) <= {"CNC", "ASSY", "TEST"}
    for order in proposal["orders"]:
        assert order["finish"] >= order["start"]
        assert order["late"] == (order["lateness_minutes"] > 0)
        assert (order["reason"] is not None) == order["late"]
    moved = {m["operation"] for m in proposal["moved"]}
    assert moved == {f"{o['work_order']}/{o['operation']}" for o in proposal["operations"]}

    saved = sqlite_api.ok(sqlite_api.post("/schedule-runs", {"save": True}, user="planner"))
    assert saved["saved"] is True and planned(sqlite_engine) >= len(saved["operations"])
    again = sqlite_api.ok(sqlite_api.post("/schedule-runs", {}, user="planner"))
    assert again["moved"] == []  # the same plan again: nothing moves

    chart = sqlite_api.ok(sqlite_api.get("/gantt", by="work_center"))
    bars = [b for row in chart["rows"] for b in row["bars"]]
    assert {row["key"] for row in chart["rows"]} <= {"CNC", "ASSY", "TEST"}
    assert all(b["planned_start"] and b["planned_end"] for b in bars if b["status"] != "done")
    by_order = sqlite_api.ok(sqlite_api.get("/gantt", by="order"))
    assert sum(len(r["bars"]) for r in by_order["rows"]) == len(bars)


def test_only_planners_run_schedules_and_bad_parameters_are_refused(
    sqlite_api: Api, sqlite_engine: Engine
) -> None:
    demo(sqlite_engine)
    assert sqlite_api.post("/schedule-runs", {}, user="sales").status_code == 403
    bad = sqlite_api.post("/schedule-runs", {"direction": "sideways"}, user="planner")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert sqlite_api.post("/schedule-runs", {}, user=None).status_code == 401


def test_an_empty_order_book_has_nothing_to_schedule(sqlite_api: Api) -> None:
    answer = sqlite_api.post("/schedule-runs", {}, user="planner")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "nothing_to_schedule"


def test_a_dragged_operation_is_placed_no_earlier_than_asked(
    sqlite_api: Api, sqlite_engine: Engine
) -> None:
    demo(sqlite_engine)
    plan = sqlite_api.ok(sqlite_api.post("/schedule-runs", {}, user="planner"))
    first = min(plan["operations"], key=lambda o: o["start"])
    name = f"{first['work_order']}/{first['operation']}"
    later = datetime.fromisoformat(first["start"]) + timedelta(days=3)
    pin = {"operation": name, "start": later.isoformat()}
    moved = sqlite_api.ok(sqlite_api.post("/schedule-runs", {"pins": [pin]}, user="planner"))
    placed = next(o for o in moved["operations"] if f"{o['work_order']}/{o['operation']}" == name)
    assert datetime.fromisoformat(placed["start"]) >= later
    assert name in {m["operation"] for m in moved["moved"]}
    nowhere = {"operation": "WO-2099-000001/10", "start": later.isoformat()}
    refused = sqlite_api.post("/schedule-runs", {"pins": [nowhere]}, user="planner")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_operation"
