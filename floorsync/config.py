"""Load a TOML settings file into its model; errors name the file, the line and the fix."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A settings file that cannot be used; the message is for the person who wrote it."""


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best effort: the line where the key at ``loc`` is (or its section starts)."""
    section, key = (".".join(str(p) for p in loc[:-1]), str(loc[-1])) if loc else ("", "")
    current, found = "", None
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
            if current == ".".join(str(p) for p in loc):
                found = number
            continue
        if current == section and re.match(rf"^\s*{re.escape(key)}\s*=", line):
            return number
        if current == section and found is None and section:
            found = number - 1
    return found


def load(model: type[M], path: Path | None, overrides: dict[str, Any] | None = None) -> M:
    """Settings from ``path`` (or defaults) with ``overrides`` (dotted keys) applied on top."""
    text, data = "", {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise ConfigError(f"{path}: not a file but a directory") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path else "settings"
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(text, loc) if text else None
            at = f"{where}:{line}" if line else where
            fix = {
                "missing": "add it",
                "extra_forbidden": "remove it or check its spelling",
            }.get(error["type"], "correct the value")
            lines.append(f"{at}: {key}: {error['msg']} ({fix})")
        raise ConfigError("\n".join(lines)) from None
