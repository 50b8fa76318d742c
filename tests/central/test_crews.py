"""Who worked on an operation, folded from production reports' crews as they are ingested."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from central.db.aftersales import operation_crews
from central.ingest import Ingestor
from tests.central.conftest import LAYOUT, batch, envelope, events_topic, report


def crew_report(start: str, end: str, shares: list[tuple[str, int, float]]) -> dict[str, Any]:
    return report(
        good=sum(g for _, g, _ in shares),
        scrap=0,
        period_start=start,
        period_end=end,
        labour_hours=sum(h for _, _, h in shares),
        crew=[{"operator": b, "good": g, "scrap": 0, "labour_hours": h} for b, g, h in shares],
    )


def test_crews_add_up_and_keep_the_earliest_and_latest_times(engine: Engine) -> None:
    ingestor = Ingestor(engine, LAYOUT)
    first = crew_report(
        "2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", [("EMP-1", 6, 1.0), ("EMP-2", 4, 1.0)]
    )
    # a late report for an earlier period arrives after it
    late = crew_report("2026-03-02T06:00:00Z", "2026-03-02T07:00:00Z", [("EMP-1", 3, 0.5)])
    ingestor.handle(events_topic(), batch(envelope(1, first)))
    ingestor.handle(events_topic(), batch(envelope(2, late), envelope(3, report(good=2, scrap=0))))
    with engine.connect() as conn:
        rows = {r.operator: r for r in conn.execute(select(operation_crews))}
    assert set(rows) == {"EMP-1", "EMP-2"}  # a report without a crew adds nobody
    one = rows["EMP-1"]
    assert (one.work_order, one.operation, one.station) == ("WO-1", "10", "ST-1")
    assert (one.good, one.scrap, one.labour_hours) == (9, 0, 1.5)
    assert one.first_at == datetime(2026, 3, 2, 6, tzinfo=UTC)
    assert one.last_at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert (rows["EMP-2"].good, rows["EMP-2"].labour_hours) == (4, 1.0)
