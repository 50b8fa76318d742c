"""Piece counters: rollover, reset, duplicates and glitches never create or lose pieces."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.counters import CounterReason, CounterTracker

R = CounterReason


def run(readings: list[tuple[int, float]], bits: int) -> list[tuple[int, CounterReason]]:
    """Feed readings at max 10 pieces/s; return what all but the baseline booked."""
    tracker = CounterTracker(bits=bits, max_rate=10.0)
    first, *rest = (tracker.feed(value, t) for value, t in readings)
    assert (first.delta, first.reason) == (0, R.BASELINE)
    return [(r.delta, r.reason) for r in rest]


@pytest.mark.parametrize(
    ("bits", "readings", "expected"),
    [
        (16, [(100, 0.0)], []),
        (16, [(100, 0.0), (105, 1.0)], [(5, R.COUNT)]),
        (16, [(100, 0.0), (100, 1.0), (100, 1.0)], [(0, R.UNCHANGED), (0, R.UNCHANGED)]),
        # 16-bit rollover: 65530 -> 4 is 6 + 4 = 10 pieces
        (16, [(65530, 0.0), (4, 1.0)], [(10, R.ROLLOVER)]),
        (16, [(65535, 0.0), (0, 1.0)], [(1, R.ROLLOVER)]),
        (32, [(2**32 - 3, 0.0), (2, 1.0)], [(5, R.ROLLOVER)]),
        # a drop that is no plausible rollover is a PLC restart: count since 0
        (16, [(5000, 0.0), (3, 1.0)], [(3, R.RESET)]),
        (32, [(70000, 0.0), (0, 1.0)], [(0, R.RESET)]),
        # a 32-bit counter near 65535 does not roll over at 16 bits
        (32, [(65530, 0.0), (4, 1.0)], [(4, R.RESET)]),
        # a jump beyond max_rate * elapsed + slack is not booked, now or later
        (16, [(100, 0.0), (5000, 1.0), (5004, 2.0)], [(0, R.IMPLAUSIBLE), (4, R.COUNT)]),
        (16, [(5000, 0.0), (4000, 1.0)], [(0, R.IMPLAUSIBLE)]),
        # limit is inclusive: 10/s for 1 s plus 1 piece of slack
        (16, [(0, 0.0), (11, 1.0)], [(11, R.COUNT)]),
        (16, [(0, 0.0), (12, 1.0)], [(0, R.IMPLAUSIBLE)]),
        # a clock stepping back counts as no time passing
        (16, [(0, 10.0), (1, 5.0), (3, 5.2)], [(1, R.COUNT), (2, R.COUNT)]),
        (16, [(0, 10.0), (5, 5.0)], [(0, R.IMPLAUSIBLE)]),
        # a long pause allows more
        (16, [(0, 0.0), (3000, 600.0)], [(3000, R.COUNT)]),
    ],
)  # fmt: skip
def test_scenarios(
    bits: int, readings: list[tuple[int, float]], expected: list[tuple[int, CounterReason]]
) -> None:
    assert run(readings, bits) == expected


@pytest.mark.parametrize("value", [-1, 65536, 1.5, True, "7"])
def test_bad_value_is_refused_and_changes_nothing(value: object) -> None:
    tracker = CounterTracker(bits=16, max_rate=10.0)
    tracker.feed(100, 0.0)
    with pytest.raises(ValueError, match="counter value"):
        tracker.feed(value, 1.0)  # type: ignore[arg-type]
    assert (tracker.last_value, tracker.last_timestamp) == (100, 0.0)
    assert tracker.feed(105, 1.0).delta == 5


def test_bad_timestamp_is_refused() -> None:
    tracker = CounterTracker(bits=16, max_rate=10.0)
    with pytest.raises(ValueError, match="timestamp"):
        tracker.feed(1, float("nan"))
    assert tracker.last_value is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bits": 8, "max_rate": 1.0}, "16 or 32"),
        ({"bits": 16, "max_rate": 0.0}, "max_rate"),
        ({"bits": 16, "max_rate": float("inf")}, "max_rate"),
        ({"bits": 16, "max_rate": 1.0, "slack": -1.0}, "slack"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CounterTracker(**kwargs)  # type: ignore[arg-type]


def test_restore_does_not_double_book() -> None:
    tracker = CounterTracker(bits=16, max_rate=10.0)
    tracker.feed(65500, 0.0)
    assert tracker.feed(65530, 5.0).delta == 30
    saved = json.loads(json.dumps(tracker.to_dict()))
    restored = CounterTracker.from_dict(saved)
    assert restored.to_dict() == tracker.to_dict()
    assert restored.feed(65530, 6.0) == tracker.feed(65530, 6.0)
    assert restored.feed(65530, 6.0).delta == 0
    assert restored.feed(20, 10.0).delta == 26


def test_restore_of_fresh_tracker_waits_for_baseline() -> None:
    restored = CounterTracker.from_dict(CounterTracker(bits=32, max_rate=2.0).to_dict())
    assert restored.feed(1234, 0.0).reason is R.BASELINE


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"bits": 16, "max_rate": 1.0, "slack": 1.0, "last_value": 5, "last_timestamp": None},
        {"bits": 16, "max_rate": 1.0, "slack": 1.0, "last_value": 70000, "last_timestamp": 0.0},
        {"bits": 16, "max_rate": "x", "slack": 1.0, "last_value": None, "last_timestamp": None},
    ],
)
def test_restore_refuses_bad_state(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a saved counter state"):
        CounterTracker.from_dict(data)


@st.composite
def true_counts(draw: st.DrawFn) -> tuple[int, float, int, list[tuple[int, float]]]:
    """A true count rising at most max_rate, sampled with repeated reads and rollovers."""
    bits = draw(st.sampled_from([16, 32]))
    max_rate = draw(st.sampled_from([0.5, 3.0, 50.0, 1000.0]))
    count = draw(st.integers(0, 2**bits - 1)) + draw(st.integers(0, 3)) * 2**bits
    start, now = count, 0.0
    samples = [(count, now)]
    for _ in range(draw(st.integers(0, 40))):
        # sample faster than the counter can wrap; dt 0 is a repeated read
        dt = draw(st.sampled_from([0.0, 0.1, 1.0, 7.5, 60.0]))
        if max_rate * dt >= 2**bits:
            dt = 0.1
        now += dt
        count += draw(st.integers(0, int(max_rate * dt)))
        samples.append((count, now))
        if draw(st.booleans()):
            samples.append((count, now))  # the same value read twice
    return bits, max_rate, count - start, [(c % 2**bits, t) for c, t in samples]


@given(true_counts())
def test_booked_pieces_equal_true_pieces(
    case: tuple[int, float, int, list[tuple[int, float]]],
) -> None:
    bits, max_rate, true_pieces, readings = case
    tracker = CounterTracker(bits=bits, max_rate=max_rate)
    booked = sum(tracker.feed(value, t).delta for value, t in readings)
    assert booked == true_pieces


@given(true_counts(), st.integers(0, 80))
def test_restart_mid_stream_books_the_same(
    case: tuple[int, float, int, list[tuple[int, float]]], cut: int
) -> None:
    bits, max_rate, true_pieces, readings = case
    tracker = CounterTracker(bits=bits, max_rate=max_rate)
    booked = 0
    for i, (value, t) in enumerate(readings):
        if i == cut:
            tracker = CounterTracker.from_dict(json.loads(json.dumps(tracker.to_dict())))
        booked += tracker.feed(value, t).delta
    assert booked == true_pieces


@given(
    st.sampled_from([16, 32]),
    st.lists(st.tuples(st.integers(0, 2**16 - 1), st.floats(0, 1e6)), max_size=30),
)
def test_deltas_never_negative_and_repeats_book_nothing(
    bits: int, readings: list[tuple[int, float]]
) -> None:
    tracker = CounterTracker(bits=bits, max_rate=5.0)
    for value, t in readings:
        assert tracker.feed(value, t).delta >= 0
        assert tracker.feed(value, t).delta == 0
