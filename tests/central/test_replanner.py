"""Predicted finishes follow the floor's pace, and a slow operation puts its order at risk."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

import central.replanner as replanner_module
from central.db.domain import production_orders
from central.ingest import Ingestor
from central.orders import dispatch, planning, production, sales
from central.replanner import Replanner
from central.scheduling import heuristic
from protocols.changes import Changes
from tests.central.conftest import LAYOUT, batch, envelope, events_topic
from tests.central.test_orders import NOW, company, draft, report


def test_a_slow_operation_moves_the_predicted_finish_and_puts_the_order_at_risk(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        company(conn)
        wo = sales.confirm(conn, draft(conn, "VALVE-50", 10), NOW)["production_orders"][0]
        dispatch.refresh(conn, production.release(conn, wo, NOW), NOW)
    clock = [NOW + timedelta(hours=2)]
    changes = Changes()
    replanner = Replanner(engine, changes, clock=lambda: clock[0].timestamp())
    assert wo in replanner.replan()
    with engine.connect() as conn:
        first = {p["work_order"]: p for p in planning.predictions(conn)}[wo]
    assert first["predicted_end"] is not None and first["at_risk"] is False

    # due by the end of tomorrow; six hours after 08:00 the press has made one valve
    with engine.begin() as conn:
        conn.execute(
            update(production_orders)
            .where(production_orders.c.number == wo)
            .values(due_date=(NOW + timedelta(days=1)).date())
        )
    Ingestor(engine, LAYOUT).handle(events_topic(), batch(envelope(1, report(wo, "10", 1))))
    clock[0] = NOW + timedelta(hours=6)
    seen = changes.version("planning")
    assert wo in replanner.replan()
    assert changes.version("planning") == seen + 1  # the planner's page is told
    with engine.connect() as conn:
        later = {p["work_order"]: p for p in planning.predictions(conn)}[wo]
        stored = conn.execute(
            select(production_orders.c.predicted_end).where(production_orders.c.number == wo)
        ).scalar_one()
    assert later["predicted_end"] > first["predicted_end"]
    assert stored is not None
    assert later["at_risk"] is True  # nine more at six hours each: past the due date
    assert replanner.replan() == []  # nothing moved since: nothing to tell


def test_a_breakdown_moves_the_operations_of_its_work_center_and_nothing_else(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        company(conn)
        wo = sales.confirm(conn, draft(conn, "VALVE-50", 10), NOW)["production_orders"][0]
        dispatch.refresh(conn, production.release(conn, wo, NOW), NOW)

    def plan() -> dict[str, tuple[str, datetime]]:
        with engine.connect() as conn:
            result = heuristic.schedule(planning.problem_of(conn, NOW), time_limit=0)
        return {s.operation: (s.work_center, s.start) for s in result.operations}

    before = plan()
    down = {"machine": "M-PRESS", "state": "down", "reason": "jam", "since": NOW.isoformat()}
    Ingestor(engine, LAYOUT).handle(
        events_topic(), batch(envelope(1, down, kind="machine_state", station="ST-10"))
    )
    after = plan()
    for op, (work_center, start) in after.items():
        if work_center == "PRESS":  # broken: nothing starts before the expected repair
            assert start >= NOW + planning.REPAIR > before[op][1]
        else:
            assert start == before[op][1], op  # the assembly bench works on as planned

    running = {"machine": "M-PRESS", "state": "running", "since": NOW.isoformat()}
    Ingestor(engine, LAYOUT).handle(
        events_topic(), batch(envelope(2, running, kind="machine_state", station="ST-10"))
    )
    assert plan() == before  # repaired: the plan is back


def test_an_order_book_too_big_to_predict_after_every_event_is_skipped_and_said(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with engine.begin() as conn:
        company(conn)
        sales.confirm(conn, draft(conn, "VALVE-50", 10), NOW)
    monkeypatch.setattr(replanner_module, "MAX_OPERATIONS", 1)
    replanner = Replanner(engine, Changes(), clock=lambda: NOW.timestamp())
    assert replanner.replan() == [] and replanner.too_big
    assert "order book too big" in caplog.text
    monkeypatch.setattr(replanner_module, "MAX_OPERATIONS", 1000)
    assert replanner.replan() and not replanner.too_big
