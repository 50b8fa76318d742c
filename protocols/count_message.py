"""Count-station messages: one line of text carrying a station's running piece counters.

The default format names each counter, ``good=1234;scrap=5`` (``;scrap=...`` optional),
so a message read off the wire in a terminal says what it is and a reordered field
cannot be booked as the wrong counter. Other stations are described by a regular
expression whose named groups are the tags, e.g. ``(?P<good>\\d+),(?P<scrap>\\d+)`` for
``1234,5``. The whole line must match; a group that takes no part in the match gives no
value. Pure: shared by the edge, which parses, and the simulator, which formats.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_PATTERN", "MessageError", "compile_pattern", "format_message", "parse"]

DEFAULT_PATTERN = r"good=(?P<good>\d+)(?:;scrap=(?P<scrap>\d+))?"


class MessageError(ValueError):
    """A line that is no message of the configured pattern."""


def compile_pattern(text: str) -> re.Pattern[str]:
    """The pattern, checked: it compiles and names at least one group (a tag)."""
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise ValueError(f"pattern {text!r} is no regular expression: {exc}") from None
    if not pattern.groupindex:
        raise ValueError(
            f"pattern {text!r} has no named group: name each counter, e.g. (?P<good>\\d+)"
        )
    return pattern


def parse(pattern: re.Pattern[str], line: str) -> dict[str, int]:
    """The counters in one line (surrounding whitespace ignored), by tag name."""
    match = pattern.fullmatch(line.strip())
    if match is None:
        raise MessageError(f"message {_excerpt(line)} does not match {pattern.pattern!r}")
    values: dict[str, int] = {}
    for tag, text in match.groupdict().items():
        if text is None:
            continue
        try:
            values[tag] = int(text)
        except ValueError:
            raise MessageError(
                f"message {_excerpt(line)}: {tag} {text!r} is no whole number"
            ) from None
    if not values:
        raise MessageError(f"message {_excerpt(line)} carries no counter")
    return values


def format_message(good: int, scrap: int | None = None) -> str:
    """A message in the default format."""
    return f"good={good}" if scrap is None else f"good={good};scrap={scrap}"


def _excerpt(line: str, limit: int = 60) -> str:
    return repr(line if len(line) <= limit else line[:limit] + "...")
