"""OEE per station: hand-checked figures a line supervisor would recognise."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.kpi import KpiRecorder, Oee, Shift, shift_window
from edge.store import connect

BERLIN = ZoneInfo("Europe/Berlin")
MON_FRI = frozenset(range(5))


def at(hh: int, mm: int = 0, ss: int = 0, day: int = 2) -> datetime:
    """A moment on March ``day``, 2026 in UTC (the 2nd is a Monday)."""
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


def database(path: Path) -> sqlite3.Connection:
    conn = connect(path)
    conn.executescript(KpiRecorder.SCHEMA)
    return conn


def save(recorder: KpiRecorder, conn: sqlite3.Connection, now: datetime) -> None:
    """Save in a transaction of its own, as the edge's writer does."""
    conn.execute("BEGIN IMMEDIATE")
    recorder.save(conn, now)
    conn.execute("COMMIT")


def test_shift_of_six_running_hours_and_five_percent_scrap() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(6))
    kpi.state("press-1", "down", at(9))
    kpi.state("press-1", "running", at(10))
    kpi.state("press-1", "idle", at(13))
    for hour in range(6, 13):
        kpi.pieces("press-1", good=40, scrap=0, ideal_cycle_s=60, at=at(hour, 30))
    kpi.pieces("press-1", good=5, scrap=15, ideal_cycle_s=60, at=at(12, 59))

    oee = kpi.oee("press-1", at(6), at(14), now=at(14))

    assert (oee.planned_s, oee.running_s, oee.good, oee.scrap) == (28_800, 21_600, 285, 15)
    assert oee.availability == 0.75
    assert oee.performance == pytest.approx(300 * 60 / 21_600)
    assert oee.quality == 0.95
    assert oee.oee == pytest.approx(0.75 * 0.8333333 * 0.95)
    assert oee.to_json() == {
        "availability": 0.75,
        "performance": 0.8333,
        "quality": 0.95,
        "oee": 0.5938,
        "planned_s": 28_800,
        "running_s": 21_600,
        "good": 285,
        "scrap": 15,
    }


def test_shift_so_far_counts_the_open_running_state_up_to_now() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(6, 30))

    oee = kpi.oee("press-1", at(6), at(14), now=at(8))
    assert kpi.oee("press-1", at(6), at(14), now=at(7, 59, 30)).running_s == 5370

    assert (oee.planned_s, oee.running_s, oee.availability) == (7200, 5400, 0.75)
    assert oee.performance == 0.0  # ran 90 minutes without a single piece
    assert oee.quality is None
    assert oee.oee is None


def test_last_hour_with_a_stop_in_the_middle() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(8))
    kpi.state("press-1", "down", at(9, 30))
    kpi.pieces("press-1", good=20, scrap=0, ideal_cycle_s=30, at=at(8, 59, 59))
    kpi.pieces("press-1", good=10, scrap=0, ideal_cycle_s=30, at=at(9, 10))

    oee = kpi.oee("press-1", at(9), at(10), now=at(10))

    assert (oee.planned_s, oee.running_s, oee.good) == (3600, 1800, 10)
    assert oee.availability == 0.5
    assert oee.performance == 300 / 1800


def test_last_hour_starting_mid_minute_is_exact_to_the_second() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(8))
    kpi.state("press-1", "idle", at(9, 30, 20))
    kpi.pieces("press-1", good=1, scrap=0, ideal_cycle_s=10, at=at(9, 0, 10))  # in the 09:00 bucket

    now = at(10, 0, 30)
    oee = kpi.oee("press-1", now - timedelta(hours=1), now, now)

    assert oee.planned_s == 3600
    assert oee.running_s == 30 * 60 - 10  # 09:00:30 to 09:30:20
    assert oee.good == 1


def test_running_time_is_split_exactly_over_the_minutes_it_spans() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(10, 0, 15))
    kpi.state("press-1", "setup", at(10, 3, 45))

    rows = kpi.dirty_rows()
    assert [(row[1] * 60 - at(10).timestamp(), row[2]) for row in rows.minutes] == [
        (0, 45),
        (60, 60),
        (120, 60),
        (180, 45),
    ]
    assert rows.states == [("press-1", "setup", at(10, 3, 45).timestamp())]
    assert kpi.oee("press-1", at(10, 1), at(10, 2), at(11)).running_s == 60
    assert kpi.oee("press-1", at(10, 0, 30), at(10, 3, 10), at(11)).running_s == 30 + 60 + 60 + 10
    assert kpi.oee("press-1", at(10, 3, 50), at(11), at(11)).running_s == 0


def test_window_ending_before_now_leaves_out_what_ran_after_it() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(13, 50))
    kpi.state("press-1", "idle", at(14, 0, 40))

    oee = kpi.oee("press-1", at(6), at(14), now=at(15))

    assert (oee.planned_s, oee.running_s) == (8 * 3600, 600)


def test_a_state_stamped_before_the_last_change_never_makes_negative_time() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(10))
    kpi.state("press-1", "idle", at(10, 5))
    kpi.state("press-1", "running", at(10, 4))  # the device's clock is a minute behind
    kpi.state("press-1", "down", at(10, 3))

    oee = kpi.oee("press-1", at(10), at(11), now=at(11))

    assert oee.running_s == 300
    assert kpi.dirty_rows().states == [("press-1", "down", at(10, 5).timestamp())]


def test_performance_only_over_pieces_with_a_known_ideal_cycle() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(6))
    kpi.pieces("press-1", good=50, scrap=0, ideal_cycle_s=None, at=at(6, 30))
    window = (at(6), at(7), at(7))

    unknown = kpi.oee("press-1", *window)
    assert (unknown.availability, unknown.performance, unknown.quality) == (1.0, None, 1.0)
    assert unknown.oee is None

    kpi.pieces("press-1", good=36, scrap=0, ideal_cycle_s=50, at=at(6, 40))
    mixed = kpi.oee("press-1", *window)
    assert mixed.performance == 0.5  # 36 x 50 s over 3600 s; the 50 unknown pieces left out
    assert mixed.good == 86


def test_performance_above_one_is_reported_not_clamped() -> None:
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(6))
    kpi.pieces("press-1", good=90, scrap=0, ideal_cycle_s=60, at=at(6, 30))

    oee = kpi.oee("press-1", at(6), at(7), at(7))

    assert oee.performance == 1.5
    assert oee.oee == 1.5


def test_unknown_station_has_planned_time_and_zero_availability() -> None:
    kpi = KpiRecorder()

    assert kpi.oee("lathe-9", at(6), at(14), now=at(7)) == Oee(
        availability=0.0,
        performance=None,
        quality=None,
        oee=None,
        planned_s=3600,
        running_s=0,
        good=0,
        scrap=0,
    )
    assert kpi.oee("lathe-9", at(6), at(14), now=at(5)).availability is None
    assert kpi.stations() == []


def test_refuses_naive_datetimes_unknown_states_and_negative_counts() -> None:
    kpi = KpiRecorder()
    with pytest.raises(ValueError, match="time zone"):
        kpi.state("press-1", "running", datetime(2026, 3, 2, 6))
    with pytest.raises(ValueError, match="unknown machine state"):
        kpi.state("press-1", "Running", at(6))
    with pytest.raises(ValueError, match="negative"):
        kpi.pieces("press-1", good=-1, scrap=0, ideal_cycle_s=60, at=at(6))
    with pytest.raises(ValueError, match="positive"):
        kpi.pieces("press-1", good=1, scrap=0, ideal_cycle_s=0, at=at(6))


DAY = Shift("day", time(6), time(14))
LATE = Shift("late", time(14), time(22))
NIGHT = Shift("night", time(22), time(6))


def test_shift_window_finds_the_shift_in_utc() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)

    assert shift_window([DAY, LATE, NIGHT], now, BERLIN) == ("day", at(5), at(13))


def test_night_shift_at_two_belongs_to_the_shift_started_the_day_before() -> None:
    now = datetime(2026, 3, 3, 2, 0, tzinfo=BERLIN)

    assert shift_window([DAY, LATE, NIGHT], now, BERLIN) == ("night", at(21, day=2), at(5, day=3))


def test_shift_only_on_working_days() -> None:
    weekdays = [
        Shift("day", time(6), time(14), MON_FRI),
        Shift("night", time(22), time(6), MON_FRI),
    ]
    sunday = datetime(2026, 3, 8, 9, 0, tzinfo=BERLIN)
    saturday_night = datetime(2026, 3, 7, 2, 0, tzinfo=BERLIN)  # the night shift started Friday

    assert shift_window(weekdays, sunday, BERLIN) is None
    assert shift_window(weekdays, saturday_night, BERLIN) == (
        "night",
        at(21, day=6),
        at(5, day=7),
    )


def test_shift_across_the_spring_dst_change_is_seven_hours_long() -> None:
    early = Shift("early", time(0), time(8))
    now = datetime(2026, 3, 29, 5, 0, tzinfo=BERLIN)

    window = shift_window([early], now, BERLIN)

    assert window == ("early", at(23, day=28), at(6, day=29))
    assert window[2] - window[1] == timedelta(hours=7)


def test_night_shift_across_the_autumn_dst_change_is_nine_hours_long() -> None:
    now = datetime(2026, 10, 25, 5, 0, tzinfo=BERLIN)

    window = shift_window([NIGHT], now, BERLIN)

    assert window is not None
    assert window[2] - window[1] == timedelta(hours=9)


def test_save_and_load_keep_the_figures_and_do_not_count_the_downtime(tmp_path: Path) -> None:
    conn = database(tmp_path / "edge.db")
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(6))
    kpi.pieces("press-1", good=95, scrap=5, ideal_cycle_s=60, at=at(7, 30))
    kpi.state("press-2", "idle", at(6))
    save(kpi, conn, at(7, 59, 30))
    kpi.pieces("press-1", good=10, scrap=0, ideal_cycle_s=None, at=at(7, 59, 50))
    save(kpi, conn, at(8))  # then the edge goes down for an hour
    before = kpi.oee("press-1", at(6), at(14), now=at(8))
    conn.close()

    conn = connect(tmp_path / "edge.db")
    loaded = KpiRecorder.load(conn, now=at(9))

    assert loaded.oee("press-1", at(6), at(14), now=at(8)) == before
    after = loaded.oee("press-1", at(6), at(14), now=at(9))
    assert (after.planned_s, after.running_s, after.good, after.scrap) == (10_800, 7200, 105, 5)
    assert loaded.stations() == ["press-1", "press-2"]

    loaded.state("press-1", "running", at(9))
    assert loaded.oee("press-1", at(6), at(14), now=at(9, 30)).running_s == 7200 + 1800

    save(loaded, conn, at(9, 30))  # the next restart still knows where the gap was
    again = KpiRecorder.load(conn, now=at(10))
    assert again.oee("press-1", at(6), at(14), now=at(10)).running_s == 7200 + 1800
    conn.close()


def test_a_rolled_back_save_is_written_again_by_the_next(tmp_path: Path) -> None:
    conn = database(tmp_path / "edge.db")
    kpi = KpiRecorder()
    kpi.state("press-1", "running", at(6))
    kpi.pieces("press-1", good=7, scrap=1, ideal_cycle_s=60, at=at(6, 5))
    conn.execute("BEGIN IMMEDIATE")
    kpi.save(conn, at(6, 10))
    conn.execute("ROLLBACK")  # another unit in the writer's group failed
    assert kpi.dirty_rows().minutes == []

    save(kpi, conn, at(6, 20))

    loaded = KpiRecorder.load(conn, now=at(6, 20))
    oee = loaded.oee("press-1", at(6), at(14), now=at(6, 20))
    assert (oee.running_s, oee.good, oee.scrap) == (1200, 7, 1)
    conn.close()


def test_save_writes_only_what_changed(tmp_path: Path) -> None:
    conn = database(tmp_path / "edge.db")
    kpi = KpiRecorder()
    kpi.pieces("press-1", good=1, scrap=0, ideal_cycle_s=60, at=at(6))
    kpi.pieces("press-1", good=1, scrap=0, ideal_cycle_s=60, at=at(6, 1))
    save(kpi, conn, at(6, 2))
    assert kpi.dirty_rows().minutes == []

    kpi.pieces("press-1", good=2, scrap=0, ideal_cycle_s=60, at=at(6, 1, 30))

    assert kpi.dirty_rows().minutes == [
        ("press-1", int(at(6, 1).timestamp()) // 60, 0.0, 0, 3, 0, 180.0, 0)
    ]
    conn.close()


def test_prune_drops_buckets_older_than_the_kept_hours(tmp_path: Path) -> None:
    conn = database(tmp_path / "edge.db")
    kpi = KpiRecorder(keep_hours=2)
    kpi.pieces("press-1", good=1, scrap=0, ideal_cycle_s=60, at=at(6))
    kpi.pieces("press-1", good=2, scrap=0, ideal_cycle_s=60, at=at(7, 30))
    kpi.pieces("press-2", good=4, scrap=0, ideal_cycle_s=60, at=at(6))
    save(kpi, conn, at(7, 30))

    kpi.prune(at(9))
    save(kpi, conn, at(9))

    assert kpi.oee("press-1", at(0), at(14), now=at(9)).good == 2
    assert kpi.stations() == ["press-1"]
    assert conn.execute("SELECT station, good FROM kpi_minutes").fetchall() == [("press-1", 2)]
    conn.close()
