"""The scheduled RFM run: crontabs read as cron reads them, runs fired by the real scheduler."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from central.aftersales.jobs import RfmJobs, cron_trigger
from central.db import make_engine, migrate, writing
from central.db.aftersales import rfm_runs
from central.settings import RfmSettings
from tests.central.aftersales.rfm_book import AS_OF, fill
from tests.helpers import wait_until

BERLIN = ZoneInfo("Europe/Berlin")
SUNDAY = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 2026-03-01 is a Sunday


def next_fires(crontab: str, after: datetime, count: int = 3, tz: str = "UTC") -> list[datetime]:
    trigger = cron_trigger(crontab, tz)
    fires: list[datetime] = []
    moment = after
    for _ in range(count):
        fire = trigger.get_next_fire_time(fires[-1] if fires else None, moment)
        assert fire is not None
        fires.append(fire)
        moment = fire + timedelta(seconds=1)
    return fires


@pytest.mark.parametrize(
    ("crontab", "weekdays"),
    [
        ("0 6 * * 1", ["Mon", "Mon", "Mon"]),  # APScheduler's own from_crontab says Tuesday
        ("0 6 * * 0", ["Sun", "Sun", "Sun"]),
        ("0 6 * * 7", ["Sun", "Sun", "Sun"]),
        ("0 6 * * 1-5", ["Mon", "Tue", "Wed"]),
        ("0 6 * * mon-fri", ["Mon", "Tue", "Wed"]),
        ("0 6 * * 5-7", ["Sun", "Fri", "Sat"]),
        ("0 6 * * 0-2", ["Sun", "Mon", "Tue"]),
        ("0 6 * * */2", ["Sun", "Tue", "Thu"]),  # 0, 2, 4, 6
        ("0 6 * * 1,3", ["Mon", "Wed", "Mon"]),
    ],
)
def test_weekdays_mean_what_cron_means(crontab: str, weekdays: list[str]) -> None:
    after = SUNDAY - timedelta(hours=8)  # Sunday 04:00, before that day's 06:00
    assert [f.strftime("%a") for f in next_fires(crontab, after)] == weekdays


def test_the_default_schedule_fires_at_two_in_the_plants_time_zone() -> None:
    settings = RfmSettings(timezone="Europe/Berlin")
    fires = next_fires(settings.schedule, SUNDAY, tz=settings.timezone)
    assert [f.astimezone(BERLIN).strftime("%a %H:%M") for f in fires] == [
        "Mon 02:00",
        "Tue 02:00",
        "Wed 02:00",
    ]
    assert fires[0] == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # CET is UTC+1 in March


@pytest.mark.parametrize(
    ("crontab", "message"),
    [
        ("0 2 * *", "has 4 fields; a crontab has 5"),
        ("0 2 * * * *", "has 6 fields"),
        ("0 25 * * *", "higher than the maximum value (23)"),
        ("61 * * * *", "higher than the maximum value (59)"),
        ("0 2 * * 8", "weekday '8'"),
        ("0 2 * * funday", "weekday 'funday'"),
        ("0 2 * * 5-1", "no cron weekday range"),
        ("0 2 1 * 1", "restricts both day of month and weekday"),
        ("every night", "has 2 fields"),
    ],
)
def test_a_bad_schedule_is_refused_at_start_up_saying_why(crontab: str, message: str) -> None:
    with pytest.raises(ValidationError, match="schedule") as caught:
        RfmSettings(schedule=crontab)
    assert message in str(caught.value)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        RfmSettings(timezone="Mars/Olympus")


@pytest.fixture
def jobs(engine: Engine) -> Iterator[RfmJobs]:
    with writing(engine).begin() as conn:
        fill(conn)
    jobs = RfmJobs(engine, RfmSettings(), clock=lambda: AS_OF)
    yield jobs
    jobs.stop()


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Engine]:
    """A database without tables, where every run fails."""
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    yield engine
    engine.dispose()


def scheduled_runs(engine: Engine) -> list[tuple[str, int, int]]:
    with engine.connect() as conn:
        query = select(rfm_runs.c.trigger, rfm_runs.c.customers, rfm_runs.c.window_days)
        return [tuple(row) for row in conn.execute(query.order_by(rfm_runs.c.id))]


def test_the_configured_cron_sets_the_next_run(jobs: RfmJobs) -> None:
    jobs.start()
    now = datetime.now(UTC)
    expected = now.replace(hour=2, minute=0, second=0, microsecond=0)
    if expected <= now:
        expected += timedelta(days=1)
    assert jobs.next_run() == expected
    jobs.stop()
    assert jobs.next_run() is None


def test_the_scheduler_fires_a_run_and_logs_it(
    jobs: RfmJobs, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="central.aftersales.jobs")
    jobs.start()

    jobs.run_soon()  # the scheduler's thread runs it, as at its time

    wait_until(lambda: jobs.runs == 1, what="a scheduled run")
    assert scheduled_runs(engine) == [("scheduled", 10, 365)]
    [line] = [r.__dict__ for r in caplog.records if r.getMessage() == "rfm computed"]
    assert {k: line[k] for k in ("trigger", "as_of", "customers", "changed", "window_days")} == {
        "trigger": "scheduled",
        "as_of": AS_OF.isoformat(),
        "customers": 10,
        "changed": 10,
        "window_days": 365,
    }
    assert line["run"] >= 1 and line["seconds"] >= 0
    assert jobs.next_run() is not None  # and it is scheduled again


def test_a_disabled_schedule_never_starts(bare: Engine) -> None:
    jobs = RfmJobs(bare, RfmSettings(enabled=False))
    jobs.start()
    assert not jobs.scheduler.running and jobs.next_run() is None
    jobs.stop()


def test_a_failing_run_is_logged_and_the_scheduler_carries_on(
    bare: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="central.aftersales.jobs")
    jobs = RfmJobs(bare, RfmSettings(), clock=lambda: AS_OF)
    jobs.start()
    try:
        jobs.run_soon()
        wait_until(lambda: jobs.failures == 1, what="the failed run")

        [failed] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert failed.getMessage().startswith("rfm run failed")
        assert failed.exc_info is not None and "no such table" in str(failed.exc_info[1])
        assert jobs.scheduler.running and jobs.next_run() is not None

        migrate(bare)
        jobs.run_soon()
        wait_until(lambda: jobs.runs == 1, what="the next run, after the failure")
        assert scheduled_runs(bare) == [("scheduled", 0, 365)]
    finally:
        jobs.stop()


def test_a_second_central_process_skips_the_slot_another_one_ran(
    jobs: RfmJobs, engine: Engine
) -> None:
    worker = RfmJobs(engine, RfmSettings(), clock=lambda: AS_OF + timedelta(minutes=2))
    assert jobs.run() is not None
    assert worker.run() is None  # the same nightly slot, two minutes later
    assert len(scheduled_runs(engine)) == 1
    tomorrow = RfmJobs(engine, RfmSettings(), clock=lambda: AS_OF + timedelta(days=1))
    assert tomorrow.run() is not None
    assert len(scheduled_runs(engine)) == 2
