"""RFM on a hand-checked order book (see rfm_book), the quintile rule, the segment table."""

from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update

from central.aftersales import rfm
from central.db import writing
from central.db.aftersales import rfm_history, rfm_runs, rfm_scores
from central.db.domain import customers, sales_orders
from tests.central.aftersales.rfm_book import (
    AS_OF,
    CHANGED,
    EXPECTED,
    SECOND,
    WINDOW,
    Book,
    fill,
    juliet_returns,
    one,
    summary_row,
)


def run(engine: Engine, as_of: Any = AS_OF, trigger: str = "on_demand") -> dict[str, Any]:
    with writing(engine).begin() as conn:
        return rfm.compute(conn, as_of, WINDOW, trigger)


def scores(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(customers.c.code, rfm_scores).join(
                customers, customers.c.id == rfm_scores.c.customer_id
            )
        )
        return {row.code: row for row in rows}


def history(engine: Engine, run_id: int) -> dict[str, tuple[str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(customers.c.code, rfm_history.c.previous, rfm_history.c.segment)
            .join(customers, customers.c.id == rfm_history.c.customer_id)
            .where(rfm_history.c.run_id == run_id)
        )
        return {code: (previous, segment) for code, previous, segment in rows}


@pytest.fixture
def book(engine: Engine) -> Book:
    with writing(engine).begin() as conn:
        return fill(conn)


def test_the_hand_checked_book_scores_as_worked_out(engine: Engine, book: Book) -> None:
    summary = run(engine)

    found = scores(engine)
    assert {code: summary_row(row) for code, row in found.items()} == EXPECTED
    assert {row.since for row in found.values()} == {AS_OF}
    assert summary["customers"] == 10 and summary["changed"] == 10
    assert summary["segments"] == {
        "Champions": 2,
        "Loyal": 2,
        "Potential Loyalist": 1,
        "New Customers": 0,
        "Promising": 0,
        "Need Attention": 1,
        "About to Sleep": 0,
        "Can't Lose Them": 1,
        "At Risk": 1,
        "Hibernating": 0,
        "Lost": 2,
    }
    # the first scoring is a change from nothing
    assert history(engine, summary["id"]) == {
        code: (None, expected[-1]) for code, expected in EXPECTED.items()
    }
    with engine.connect() as conn:
        stored = conn.execute(select(rfm_runs)).one()
    assert (stored.as_of, stored.window_days, stored.trigger) == (AS_OF, WINDOW, "on_demand")
    assert (stored.customers, stored.changed) == (10, 10)
    assert stored.seconds == summary["seconds"] >= 0


def test_a_second_run_lists_exactly_the_customers_whose_segment_changed(
    engine: Engine, book: Book
) -> None:
    first = run(engine)
    with writing(engine).begin() as conn:
        book.conn = conn
        juliet_returns(book)
    later = AS_OF + timedelta(hours=1)  # recency in whole days stays as it was

    second = run(engine, later, trigger="scheduled")

    assert second["changed"] == 4 and second["id"] == first["id"] + 1
    assert history(engine, second["id"]) == CHANGED
    found = scores(engine)
    assert {code: (r.r, r.f, r.m, r.segment) for code, r in found.items()} == SECOND
    assert {code for code, r in found.items() if r.since == later} == set(CHANGED)
    assert {code for code, r in found.items() if r.since == AS_OF} == set(SECOND) - set(CHANGED)
    assert {r.run_id for r in found.values()} == {second["id"]}

    third = run(engine, later)
    assert third["changed"] == 0 and history(engine, third["id"]) == {}


def test_a_customer_no_longer_scored_leaves_the_scores(engine: Engine) -> None:
    with writing(engine).begin() as conn:
        book = Book(conn)
        book.customer("ACE")
        book.customer("BOLT")
        book.order("ACE", 10, one(1_000))
        gone = book.order("BOLT", 20, one(2_000))
    run(engine)
    with writing(engine).begin() as conn:
        conn.execute(
            update(sales_orders).where(sales_orders.c.number == gone).values(status="cancelled")
        )

    summary = run(engine)

    assert set(scores(engine)) == {"ACE"} and summary["customers"] == 1
    # ACE had the better recency of two (w 1: R 1 + floor(5/2) = 3, F and M 1): About to
    # Sleep; alone, nobody is worse than it: R F M 1 1 1, Lost. Scores are relative.
    assert history(engine, summary["id"]) == {"ACE": ("About to Sleep", "Lost")}


def test_no_orders_no_scores_but_a_run(engine: Engine) -> None:
    summary = run(engine)
    assert (summary["customers"], summary["changed"]) == (0, 0)
    assert scores(engine) == {}


def test_only_known_triggers() -> None:
    with pytest.raises(ValueError, match="trigger 'cron'"):
        rfm.compute(None, AS_OF, WINDOW, "cron")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "lower_is_better", "expected"),
    [
        ([10, 20, 30, 40, 50], False, [1, 2, 3, 4, 5]),
        ([50, 40, 30, 20, 10], True, [1, 2, 3, 4, 5]),
        # ties share a score: nobody is worse than the three 0s
        ([0, 0, 0, 1, 2], False, [1, 1, 1, 4, 5]),
        ([7, 7, 7], False, [1, 1, 1]),
        ([3], False, [1]),
        ([], False, []),
        # n = 10: 1 + floor(w / 2); the best fifth (w 8, 9) scores 5
        ([0, 0, 1, 1, 1, 2, 2, 3, 3, 4], False, [1, 1, 2, 2, 2, 3, 3, 4, 4, 5]),
        # n = 3: w 0, 1, 2 -> 1 + floor(0), floor(5/3), floor(10/3) -> 1, 2, 4
        ([5, 6, 9], False, [1, 2, 4]),
        ([5, 6, 9], True, [4, 2, 1]),
    ],
)
def test_quintiles(values: list[int], lower_is_better: bool, expected: list[int]) -> None:
    assert rfm.quintiles(values, lower_is_better=lower_is_better) == expected


@given(st.lists(st.integers(0, 20), min_size=1, max_size=60), st.randoms())
def test_a_score_depends_on_the_value_only(values: list[int], rng: random.Random) -> None:
    scored = dict(zip(values, rfm.quintiles(values), strict=True))  # equal values, one score
    shuffled = values[:]
    rng.shuffle(shuffled)
    assert rfm.quintiles(shuffled) == [scored[v] for v in shuffled]
    ranked = sorted(scored)
    assert all(scored[a] <= scored[b] for a, b in pairwise(ranked))
    assert set(scored.values()) <= {1, 2, 3, 4, 5}
    assert scored[ranked[0]] == 1
    inverted = rfm.quintiles(values, lower_is_better=True)
    assert inverted == rfm.quintiles([-v for v in values])


@pytest.mark.parametrize(
    ("f", "m", "fm"), [(1, 1, 1), (1, 2, 2), (2, 3, 3), (4, 5, 5), (5, 4, 5), (3, 4, 4), (1, 5, 3)]
)
def test_fm_is_the_mean_rounded_half_up(f: int, m: int, fm: int) -> None:
    assert rfm.fm_of(f, m) == fm


# rows R 5 ... 1, columns FM 1 ... 5
GRID = {
    5: ["New Customers", "Potential Loyalist", "Loyal", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalist", "Loyal", "Champions", "Champions"],
    3: ["About to Sleep", "Need Attention", "Loyal", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"],
}


@pytest.mark.parametrize("r", range(1, 6))
@pytest.mark.parametrize("fm", range(1, 6))
def test_every_r_and_fm_has_exactly_one_segment(r: int, fm: int) -> None:
    first = [s.name for s in rfm.SEGMENTS if s.matches(r, fm)]
    assert first, f"R {r} FM {fm} has no segment"
    # every pair F, M of this FM lands in the same segment
    names = {
        rfm.segment_of(r, f, m) for f in range(1, 6) for m in range(1, 6) if rfm.fm_of(f, m) == fm
    }
    assert names == {first[0]} == {GRID[r][fm - 1]}
    # the only rule that overlaps another is Loyal, which takes what Champions leaves
    assert len(first) == 1 or first == ["Champions", "Loyal"]


def test_every_segment_is_reached_named_once_and_says_what_to_do() -> None:
    reached = {name for row in GRID.values() for name in row}
    assert reached == set(rfm.NAMES)
    assert len(rfm.NAMES) == len(set(rfm.NAMES)) == 11
    for segment in rfm.SEGMENTS:
        assert segment.description and segment.action
        assert 1 <= segment.r[0] <= segment.r[1] <= 5 and 1 <= segment.fm[0] <= segment.fm[1] <= 5
