"""Reporting: crew split by hours with exact sums, when a report is due, valid payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.stations import Catalog, Crew, ReportPolicy, build_report, split_report
from protocols.contract import payload_model

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_split_in_proportion_to_hours() -> None:
    split = split_report(90, 9, {"EMP-0042": 2.0, "EMP-0057": 1.0})
    assert [(s.operator, s.good, s.scrap) for s in split.shares] == [
        ("EMP-0042", 60, 6),
        ("EMP-0057", 30, 3),
    ]
    assert split.yield_ratio == pytest.approx(90 / 99)


def test_largest_remainder_gives_leftover_pieces_to_the_largest_fractions() -> None:
    # quotas 10 * (0.5, 0.3, 0.2) -> 5, 3, 2; 7 * (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4 -> 4, 2, 1
    split = split_report(10, 7, {"A": 5.0, "B": 3.0, "C": 2.0})
    assert [(s.good, s.scrap) for s in split.shares] == [(5, 4), (3, 2), (2, 1)]


def test_ties_go_to_whoever_logged_in_first() -> None:
    split = split_report(1, 2, {"B": 1.0, "A": 1.0, "C": 1.0})
    assert [(s.operator, s.good, s.scrap) for s in split.shares] == [
        ("B", 1, 1),
        ("A", 0, 1),
        ("C", 0, 0),
    ]


def test_crew_without_hours_shares_equally_and_no_crew_gets_no_shares() -> None:
    assert [s.good for s in split_report(5, 0, {"A": 0.0, "B": 0.0}).shares] == [3, 2]
    split = split_report(5, 0, {})
    assert split.shares == ()
    assert split.yield_ratio == 1.0


def test_nothing_made_has_no_yield() -> None:
    assert split_report(0, 0, {"A": 1.0}).yield_ratio is None


def test_negative_input_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        split_report(-1, 0, {"A": 1.0})
    with pytest.raises(ValueError):
        split_report(1, 0, {"A": -1.0})


@settings(max_examples=400, deadline=None)
@given(
    good=st.integers(0, 10_000_000),
    scrap=st.integers(0, 10_000_000),
    hours=st.lists(
        st.floats(0, 24, allow_nan=False, allow_infinity=False) | st.just(0.0),
        min_size=1,
        max_size=8,
    ),
)
def test_shares_always_add_up_exactly(good: int, scrap: int, hours: list[float]) -> None:
    crew_hours = {f"EMP-{i:04d}": h for i, h in enumerate(hours)}
    split = split_report(good, scrap, crew_hours)
    assert sum(s.good for s in split.shares) == good
    assert sum(s.scrap for s in split.shares) == scrap
    whole = sum(hours)
    for share, h in zip(split.shares, hours, strict=True):
        assert share.good >= 0 and share.scrap >= 0
        if whole > 0:
            # largest remainder never moves a share by a whole piece from its quota
            assert abs(share.good - good * h / whole) < 1 + 1e-6
            assert abs(share.scrap - scrap * h / whole) < 1 + 1e-6
            if h == 0:
                assert share.good == share.scrap == 0


def test_report_payload_is_valid_and_adds_up() -> None:
    payload = build_report(
        "WO-2026-000130",
        "10",
        good=100,
        scrap=3,
        period_start=T0,
        period_end=T0 + timedelta(hours=2),
        crew_hours={"EMP-0042": 2.0, "EMP-0057": 1.5},
    )
    report = payload_model("production_report").model_validate(payload)
    assert report.model_dump()["labour_hours"] == 3.5
    assert [s["good"] for s in payload["crew"]] == [57, 43]
    assert report.yield_ratio == pytest.approx(100 / 103)  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(
    good=st.integers(0, 10_000),
    scrap=st.integers(0, 10_000),
    hours=st.lists(st.floats(0, 12, allow_nan=False), max_size=5),
    operation_end=st.booleans(),
)
def test_every_built_report_validates(
    good: int, scrap: int, hours: list[float], operation_end: bool
) -> None:
    payload = build_report(
        "WO-2026-000130",
        "10",
        good,
        scrap,
        T0,
        T0 + timedelta(hours=1),
        {f"EMP-{i:04d}": h for i, h in enumerate(hours)},
        source="counter",
        operation_end=operation_end,
    )
    payload_model("production_report").model_validate(payload)


def test_report_from_a_crews_logged_in_hours() -> None:
    catalog = Catalog.from_master_data(
        {"orders": []},
        {
            "operators": [
                {"badge": "EMP-0042", "name": "A. Novak", "skills": ["WC-SMT-1"]},
                {"badge": "EMP-0057", "name": "M. Rossi", "skills": ["WC-SMT-1"]},
            ]
        },
    )
    crew = (
        Crew("ST-10", "WC-SMT-1")
        .login(catalog, "EMP-0042", T0)
        .login(catalog, "EMP-0057", T0 + timedelta(minutes=30))
    )
    end = T0 + timedelta(hours=1)
    payload = build_report("WO-2026-000130", "10", 30, 0, T0, end, crew.hours_by_badge(T0, end))
    assert [(s["operator"], s["good"]) for s in payload["crew"]] == [
        ("EMP-0042", 20),
        ("EMP-0057", 10),
    ]
    payload_model("production_report").model_validate(payload)


def test_period_end_before_start_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        build_report("WO-2026-000130", "10", 1, 0, T0, T0 - timedelta(seconds=1), {})


@pytest.mark.parametrize(
    ("policy", "pieces", "elapsed", "due"),
    [
        (ReportPolicy(every_pieces=50), 49, 3600, False),
        (ReportPolicy(every_pieces=50), 50, 0, True),
        (ReportPolicy(every_seconds=900), 1, 899, False),
        (ReportPolicy(every_seconds=900), 1, 900, True),
        (ReportPolicy(every_seconds=900), 0, 9000, False),  # idle: nothing to report
        (ReportPolicy(every_pieces=50, every_seconds=900), 10, 900, True),
        (ReportPolicy(every_pieces=50, every_seconds=900), 50, 1, True),
        (ReportPolicy(every_pieces=50, every_seconds=900), 10, 1, False),
        (ReportPolicy(), 1000, 100_000, False),
    ],
)
def test_report_policy(policy: ReportPolicy, pieces: int, elapsed: float, due: bool) -> None:
    assert policy.due(pieces, T0, T0 + timedelta(seconds=elapsed)) is due


@pytest.mark.parametrize("kwargs", [{"every_pieces": 0}, {"every_seconds": 0.0}])
def test_report_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ReportPolicy(**kwargs)  # type: ignore[arg-type]
