"""A malformed config stops ``floorsync edge``, ``central`` and ``sim plant`` with a clear
reason naming the file and the key, and a non-zero exit: never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EDGE = """\
[node]
site = "plant1"
area = "assembly"
line = "line1"
name = "edge1"
data_dir = "{data}"

[http]
port = 8081
"""
CENTRAL = """\
[database]
url = "sqlite:///{data}/central.db"

[http]
port = 8080
"""

# case -> (how to spoil the file, what the reason must say)
CASES: dict[str, tuple[str | None, list[str]]] = {
    "missing file": (None, ["no such file"]),
    "a directory": ("<dir>", ["not a file"]),
    "not UTF-8": ("<latin-1>", ["not UTF-8"]),
    "invalid TOML": ("[http\nport = 1\n", ["not valid TOML", "line 1"]),
    "wrong type": ("[http]\nport = 'eighty'\n", ["http.port", "integer"]),
    "unknown key": ("[http]\nport = 8081\nportt = 1\n", ["http.portt", "not permitted"]),
    "bad value": ("[http]\nport = -1\n", ["http.port", "greater than or equal to 0"]),
}
COMMANDS = {"edge": EDGE, "central": CENTRAL, "sim plant": EDGE}


def _write(path: Path, base: str, spoil: str | None) -> Path:
    if spoil is None:
        return path  # never written: missing
    if spoil == "<dir>":
        path.mkdir()
        return path
    if spoil == "<latin-1>":
        path.write_bytes(base.encode() + "# Überstunden\n".encode("latin-1"))
        return path
    if spoil.startswith("[http]"):  # replace the [http] section of a good file
        base = base.split("[http]")[0]
    path.write_text(base + spoil if not spoil.startswith("[http\n") else spoil)
    return path


def _reason(err: str, config: Path, expected: list[str]) -> str | None:
    """What is wrong with the reason printed, or None if it names the file and the key."""
    if "Traceback" in err:
        return f"a traceback:\n{err}"
    lines = [line for line in err.splitlines() if str(config) in line]
    if not lines:
        return f"no line names {config}:\n{err}"
    if not all(word in lines[0] for word in expected):
        return f"{lines[0]!r} lacks {expected}"
    return None


@pytest.mark.timeout(60)  # a bad config taken would start the service: a failure, too
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_config_is_one_line_naming_file_and_key(
    command: str, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from floorsync.cli import main

    spoil, expected = CASES[case]
    config = _write(tmp_path / "settings.toml", COMMANDS[command].format(data=tmp_path), spoil)
    assert main([*command.split(), "--config", str(config)]) == 2
    assert _reason(capsys.readouterr().err, config, expected) is None


def test_as_processes_they_exit_non_zero_without_a_traceback(tmp_path: Path) -> None:
    """The same, as an integrator meets it: each command in its own process, all at once."""
    runs = []
    for command, base in COMMANDS.items():
        where = tmp_path / command.replace(" ", "-")
        where.mkdir()
        config = _write(where / "settings.toml", base.format(data=where), "<dir>")
        argv = [sys.executable, "-m", "floorsync", *command.split(), "--config", str(config)]
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=where
        )
        runs.append((command, config, process))
    problems = []
    for command, config, process in runs:
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            problems.append(f"{command}: still running: the config was taken")
            continue
        wrong = _reason(err, config, CASES["a directory"][1])
        if process.returncode != 2 or wrong:
            problems.append(f"{command}: exit {process.returncode}: {wrong}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("flag", ["--http-port=-1", "--http-port=70000"])
def test_a_bad_override_on_the_command_line_is_a_config_error(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from floorsync.cli import main

    config = tmp_path / "edge.toml"
    config.write_text(EDGE.format(data=tmp_path / "data"))
    assert main(["edge", "--config", str(config), flag]) == 2
    err = capsys.readouterr().err
    assert "http.port" in err and "Traceback" not in err
