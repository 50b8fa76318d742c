"""Count-station messages: the default format, configured patterns, and what is refused."""

from __future__ import annotations

import re

import pytest

from protocols.count_message import (
    DEFAULT_PATTERN,
    MessageError,
    compile_pattern,
    format_message,
    parse,
)

DEFAULT = compile_pattern(DEFAULT_PATTERN)
CSV = compile_pattern(r"(?P<good>\d+),(?P<scrap>\d+)")


@pytest.mark.parametrize(
    ("pattern", "line", "values"),
    [
        (DEFAULT, "good=1234;scrap=5", {"good": 1234, "scrap": 5}),
        (DEFAULT, "good=0", {"good": 0}),
        (DEFAULT, "  good=4294967295;scrap=0\r\n", {"good": 4294967295, "scrap": 0}),
        (CSV, "1234,5", {"good": 1234, "scrap": 5}),
        (compile_pattern(r"C(?P<total>\d{6})"), "C000042", {"total": 42}),
    ],
)
def test_a_message_gives_its_counters_by_tag(
    pattern: re.Pattern[str], line: str, values: dict[str, int]
) -> None:
    assert parse(pattern, line) == values


@pytest.mark.parametrize(
    ("pattern", "line", "reason"),
    [
        (DEFAULT, "good=12x", "does not match"),
        (DEFAULT, "scrap=5;good=12", "does not match"),
        (DEFAULT, "good=-3", "does not match"),
        (DEFAULT, "xgood=12", "does not match"),  # the whole line must match
        (DEFAULT, "", "does not match"),
        (CSV, "good=1234;scrap=5", "does not match"),
        (compile_pattern(r"(?P<good>\w+)"), "twelve", "no whole number"),
        (compile_pattern(r"(?P<good>\d+)?;"), ";", "carries no counter"),
    ],
)
def test_a_line_that_is_no_message_is_refused_with_the_reason(
    pattern: re.Pattern[str], line: str, reason: str
) -> None:
    with pytest.raises(MessageError, match=reason):
        parse(pattern, line)


def test_a_long_garbled_line_is_quoted_short() -> None:
    with pytest.raises(MessageError) as caught:
        parse(DEFAULT, "x" * 5000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("text", "reason"),
    [("(?P<good>\\d+", "no regular expression"), (r"(\d+),(\d+)", "no named group")],
)
def test_a_pattern_must_compile_and_name_its_counters(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        compile_pattern(text)


@pytest.mark.parametrize(("good", "scrap"), [(0, None), (1234, 5), (65535, 0)])
def test_the_default_format_reads_back(good: int, scrap: int | None) -> None:
    expected = {"good": good} if scrap is None else {"good": good, "scrap": scrap}
    assert parse(DEFAULT, format_message(good, scrap)) == expected
