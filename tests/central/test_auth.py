"""Users, roles and tokens: made in code and with `floorsync central user add`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from central.auth import UserError, authenticate, create_user, hash_token
from central.db import make_engine
from central.db.domain import users


def test_create_user_stores_only_the_tokens_hash(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        token = create_user(conn, "alice", ["sales", "planner", "sales"])
        row = conn.execute(select(users).where(users.c.name == "alice")).one()

    assert len(token) >= 43  # 32 random bytes
    assert row.token_hash == hash_token(token) != token
    assert row.roles == ["sales", "planner"]
    assert row.active


@pytest.mark.parametrize(
    ("name", "roles", "message"),
    [
        ("bob", ["sales", "cook"], "unknown role cook: the roles are planner, sales, service"),
        ("bob", [], "a user needs at least one role"),
        (" ", ["sales"], "a user needs a name"),
        ("admin", ["sales"], "user 'admin' exists"),
    ],
)
def test_create_user_refuses(
    sqlite_engine: Engine, name: str, roles: list[str], message: str
) -> None:
    with sqlite_engine.begin() as conn:
        create_user(conn, "admin", ["admin"])
    with sqlite_engine.begin() as conn, pytest.raises(UserError, match=message):
        create_user(conn, name, roles)


def test_authenticate_knows_active_users_by_token(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        token = create_user(conn, "alice", ["planner"])
        user = authenticate(conn, token)
        assert authenticate(conn, token + "x") is None
    assert user is not None
    assert (user.name, user.roles) == ("alice", frozenset({"planner"}))
    assert user.may(["planner", "admin"]) and not user.may(["sales", "admin"])


def add_user(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "floorsync", "central", "user", "add", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_cli_makes_a_user_and_prints_its_token_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"

    made = add_user("alice", "--roles", "sales,planner", "--db", url)

    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert "its token, shown only this once" in made.stderr and token not in made.stderr
    engine = make_engine(url)
    with engine.connect() as conn:
        user = authenticate(conn, token)
    engine.dispose()
    assert user is not None and user.roles == {"sales", "planner"}

    again = add_user("alice", "--roles", "sales", "--db", url)
    assert (again.returncode, again.stdout) == (1, "")
    assert "floorsync central user add: user 'alice' exists" in again.stderr
    wrong = add_user("bob", "--roles", "sales,boss", "--db", url)
    assert wrong.returncode == 1 and "unknown role boss" in wrong.stderr


def test_the_cli_reads_the_database_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "central.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\n')

    made = add_user("carol", "--roles", "admin", "--config", str(config))

    assert made.returncode == 0, made.stderr
    assert (tmp_path / "c.db").exists()
