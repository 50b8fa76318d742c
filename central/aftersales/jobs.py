"""RFM recomputed on a schedule: an APScheduler background thread running ``rfm.compute``.

The schedule is a 5-field crontab (minute hour day month weekday) read in the plant's
time zone. Weekdays mean what cron means (0 or 7 Sunday, 1 Monday ... or names):
APScheduler 3 counts 0 as Monday, so ``from_crontab("0 2 * * 1")`` would run on Tuesdays;
``cron_trigger`` translates them. Cron runs a job when day *or* weekday matches if both
are restricted, APScheduler only when both do: such a schedule is refused, not guessed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection, Engine, select

from central.aftersales import rfm
from central.db import writing
from central.db.aftersales import rfm_runs

if TYPE_CHECKING:
    from central.settings import RfmSettings

__all__ = ["RfmJobs", "cron_trigger", "zone"]

log = logging.getLogger(__name__)

JOB_ID = "rfm"
# Every central process (several ingest workers share one database) runs the schedule:
# the first takes the slot and the others, finding its run this recent, skip theirs.
SLOT = timedelta(minutes=30)
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError naming it when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin)") from exc


def cron_trigger(crontab: str, timezone: str = "UTC") -> CronTrigger:
    """The trigger of a 5-field crontab with cron's weekdays; ValueError saying what is wrong."""
    fields = crontab.split()
    if len(fields) != 5:
        raise ValueError(
            f"{crontab!r} has {len(fields)} fields; a crontab has 5: minute hour day month weekday"
        )
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise ValueError(
            f"{crontab!r} restricts both day of month and weekday; restrict one of them"
        )
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekdays(weekday),
            timezone=zone(timezone),
        )
    except ValueError as exc:
        raise ValueError(f"{crontab!r}: {exc}") from exc


def _weekdays(field: str) -> str:
    """Cron's weekday field as the APScheduler day names it means."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            first, last = (_day(token) for token in base.split("-", 1))
        else:
            first = _day(base)
            last = 7 if step else first  # "1/2": from Monday on, every second day
        stride = int(step) if step.isdigit() else 0
        if (step and stride < 1) or first > last:
            raise ValueError(f"weekday {part!r} is no cron weekday range")
        days.update(d % 7 for d in range(first, last + 1, stride or 1))
    return ",".join(_DAYS[d] for d in sorted(days))


def _day(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token.lower() in _DAYS:
        return _DAYS.index(token.lower())
    raise ValueError(f"weekday {token!r}: 0-7 (0 and 7 are Sunday) or sun ... sat")


def _ran_lately(conn: Connection, as_of: datetime) -> bool:
    """A scheduled run within ``SLOT`` of ``as_of`` is stored, in this transaction's view."""
    if conn.dialect.name == "postgresql":  # the lock compute takes, taken before looking
        conn.exec_driver_sql("LOCK TABLE rfm_scores IN SHARE ROW EXCLUSIVE MODE")
    R = rfm_runs.c
    found = conn.execute(
        select(R.id)
        .where(R.trigger == "scheduled", R.as_of > as_of - SLOT, R.as_of < as_of + SLOT)
        .limit(1)
    ).first()
    return found is not None


class RfmJobs:
    """Recomputes RFM for every customer on ``settings.schedule`` while started."""

    def __init__(
        self,
        engine: Engine,
        settings: RfmSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self.trigger = cron_trigger(settings.schedule, settings.timezone)
        self.scheduler = BackgroundScheduler(timezone=zone(settings.timezone))
        self.runs = 0
        self.failures = 0

    def start(self) -> None:
        """Start the schedule (nothing when ``enabled`` is off)."""
        if not self.settings.enabled:
            log.info("rfm schedule off")
            return
        # One run at a time; a run missed while this process was busy (not while it was
        # down: the job store is in memory) is made once, late, within the hour.
        self.scheduler.add_job(
            self.run,
            self.trigger,
            id=JOB_ID,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        self.scheduler.start()
        log.info(
            "rfm schedule started",
            extra={
                "schedule": self.settings.schedule,
                "timezone": self.settings.timezone,
                "next_run": str(self.next_run()),
            },
        )

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # a run under way commits or rolls back first

    def next_run(self) -> datetime | None:
        """When the schedule runs next (None when it is not started)."""
        job = self.scheduler.get_job(JOB_ID) if self.scheduler.running else None
        return None if job is None else job.next_run_time

    def run_soon(self) -> None:
        """Have the scheduler's own thread run the job now, as if its time had come."""
        self.scheduler.modify_job(JOB_ID, next_run_time=datetime.now(UTC))

    def run(self) -> dict[str, Any] | None:
        """One scheduled run; its summary, or None when it failed (logged, never raised)."""
        as_of = self.clock()
        try:
            with writing(self.engine).begin() as conn:
                if _ran_lately(conn, as_of):
                    log.info(
                        "rfm run skipped: another central process made this one",
                        extra={"as_of": as_of.isoformat()},
                    )
                    return None
                summary = rfm.compute(conn, as_of, self.settings.window_days, "scheduled")
        except Exception:
            log.exception(
                "rfm run failed; next try at the next scheduled time",
                extra={"as_of": as_of.isoformat(), "window_days": self.settings.window_days},
            )
            self.failures += 1
            return None
        log.info(
            "rfm computed",
            extra={
                "run": summary["id"],
                "trigger": "scheduled",
                "as_of": as_of.isoformat(),
                "window_days": summary["window_days"],
                "customers": summary["customers"],
                "changed": summary["changed"],
                "seconds": summary["seconds"],
            },
        )
        self.runs += 1
        return summary
