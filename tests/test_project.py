"""The project as a new user and an integrator meet it: layering, CLI, docs, config errors."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from central.settings import CentralSettings
from edge.settings import EdgeSettings
from floorsync.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]

# Imports only go downward; edge and central share only the contract (DESIGN.md).
FORBIDDEN = {
    "protocols": {"edge", "central", "simulators", "floorsync"},
    "edge": {"central", "simulators", "floorsync"},
    "central": {"edge", "simulators", "floorsync"},
    "simulators": {"edge", "central", "floorsync"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_only_go_downward(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if imported_packages(path) & FORBIDDEN[package]
    }
    assert not offenders, f"{package}/ imports what it must not: {offenders}"


def subcommands(parser: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import argparse

    found = []
    for action in getattr(parser, "_actions", []):
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found.extend(subcommands(sub, (*prefix, name)))
    return found


COMMANDS = subcommands(build_parser())


def test_the_cli_has_the_commands_the_issue_names() -> None:
    top = {c[0] for c in COMMANDS}
    assert {"demo", "edge", "central", "sim", "bench"} <= top


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_subcommand_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "floorsync", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "example:" in result.stdout
    assert f"floorsync {' '.join(command)}" in result.stdout.split("example:")[1]


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    head = readme[:1500]
    assert "bash scripts/demo" in head and "bash scripts/test" in head
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("command", sorted({c[0] for c in COMMANDS}))
def test_every_command_is_documented_in_the_readme(command: str) -> None:
    assert f"floorsync {command}" in (ROOT / "README.md").read_text()


def setting_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(setting_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


@pytest.mark.parametrize("model", [EdgeSettings, CentralSettings], ids=lambda m: m.__name__)
def test_every_setting_is_documented(model: type[BaseModel]) -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [key for key in setting_keys(model) if f"`{key}`" not in doc]
    assert not missing, f"docs/configuration.md does not describe {missing}"


@pytest.mark.parametrize(
    ("model", "path"),
    [
        (EdgeSettings, "config/edge.example.toml"),
        (EdgeSettings, "config/line.example.toml"),
        (CentralSettings, "config/central.example.toml"),
    ],
)
def test_example_configs_are_valid(model: type[BaseModel], path: str) -> None:
    model.model_validate(tomllib.loads((ROOT / path).read_text()))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[node]\nsite = "p"\narea = "a"\nline = "l"\nname = "e"\n[uplink]\nwindow = 0\n',
            "edge.toml:7: uplink.window: Input should be greater than or equal to 1",
        ),
        ('[node]\nsite = "p"\narea = "a"\nline = "l"\n', "node.name: Field required (add it)"),
        (
            '[node]\nsite = "p"\narea = "a"\nline = "l"\nname = "e"\nwindwo = 3\n',
            "edge.toml:6: node.windwo: Extra inputs are not permitted (remove it",
        ),
        ("[node\nsite =", "not valid TOML"),
    ],
)
def test_a_malformed_config_is_a_clear_message_not_a_traceback(
    tmp_path: Path, text: str, expected: str
) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "floorsync", "edge", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
