"""Pages sign in for a session that ends; sign-in failures are limited; API tokens may end."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from central.auth import authenticate, create_user
from central.db import make_engine
from protocols.ratelimit import SignInLimiter
from tests.central.api.conftest import Api


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(sqlite_api: Api) -> Clock:
    clock = Clock()
    sqlite_api.client.app.state.clock = clock  # type: ignore[attr-defined]
    return clock


def sign_in(api: Api, token: str) -> httpx.Response:
    return api.client.post("/api/v1/sessions", json={"token": token})


def me(api: Api, token: str) -> int:
    return api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_session_ends_after_its_hours_or_when_idle(sqlite_api: Api, clock: Clock) -> None:
    api = sqlite_api
    signed = api.ok(sign_in(api, api.tokens["sales"]), 201)
    session = signed["token"]
    assert (signed["name"], signed["roles"]) == ("sales", ["sales"])
    assert signed["expires_at"] == (clock.now + timedelta(hours=10)).isoformat()
    assert session != api.tokens["sales"] and me(api, session) == 200
    # in use, it lives past the idle timeout (60 min) ...
    for _ in range(11):
        clock.advance(minutes=50)
        assert me(api, session) == 200
    # ... but not past its 10 hours, while the API token goes on
    clock.advance(minutes=51)
    assert me(api, session) == 401 and me(api, api.tokens["sales"]) == 200
    # a session left alone for the idle timeout is over too
    idle = api.ok(sign_in(api, api.tokens["sales"]), 201)["token"]
    clock.advance(minutes=59)
    assert me(api, idle) == 200
    clock.advance(minutes=61)
    response = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {idle}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    # the live streams check the session too (EventSource's ?token=)
    stream = api.client.get("/api/v1/planning/stream", params={"token": idle})
    assert stream.status_code == 401
    # a session token cannot open a session: only the API token can
    fresh = api.ok(sign_in(api, api.tokens["sales"]), 201)["token"]
    assert sign_in(api, fresh).status_code == 401


def test_signing_out_ends_the_session_at_the_server(sqlite_api: Api) -> None:
    api = sqlite_api
    session = api.ok(sign_in(api, api.tokens["planner"]), 201)["token"]
    other = api.ok(sign_in(api, api.tokens["planner"]), 201)["token"]
    out = api.client.delete(
        "/api/v1/sessions/current", headers={"Authorization": f"Bearer {session}"}
    )
    assert out.status_code == 204
    assert me(api, session) == 401
    assert me(api, other) == 200 and me(api, api.tokens["planner"]) == 200
    # an API token is no session: it is revoked with the CLI
    with_api_token = api.client.delete(
        "/api/v1/sessions/current", headers={"Authorization": f"Bearer {api.tokens['planner']}"}
    )
    assert with_api_token.status_code == 422
    assert me(api, api.tokens["planner"]) == 200


def test_failed_sign_ins_are_limited_then_allowed_again(
    sqlite_api: Api, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    api = sqlite_api
    guesses = [f"guess-{n}-{'x' * 30}" for n in range(5)]
    with caplog.at_level(logging.WARNING, logger="central.api.sessions"):
        for guess in guesses:
            assert sign_in(api, guess).status_code == 401
            clock.advance(seconds=5)
        # the limit holds for this address even with the right token
        refused = sign_in(api, api.tokens["admin"])
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(refused.headers["Retry-After"]) <= 40
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "sign-in failed" in logged and "too many failures" in logged
    assert not any(guess in logged for guess in guesses)
    assert api.tokens["admin"] not in logged
    # once the window has room again the right token signs in
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    assert sign_in(api, api.tokens["admin"]).status_code == 201


def test_the_limit_also_counts_per_token_prefix() -> None:
    limiter = SignInLimiter(attempts=2, window_s=60)
    # the same token tried from ever new addresses
    limiter.failed(["address:10.0.0.1", "token:abcdefgh"], 0)
    limiter.failed(["address:10.0.0.2", "token:abcdefgh"], 1)
    assert limiter.retry_after(["address:10.0.0.3", "token:abcdefgh"], 2) == 58
    assert limiter.retry_after(["address:10.0.0.3", "token:zyxwvuts"], 2) is None
    assert limiter.retry_after(["address:10.0.0.3", "token:abcdefgh"], 60) is None


def test_an_api_token_may_end(sqlite_api: Api, sqlite_engine: Engine, clock: Clock) -> None:
    api = sqlite_api
    with sqlite_engine.begin() as conn:
        token = create_user(conn, "erp", ["sales"], expires_at=clock.now + timedelta(days=30))
    assert me(api, token) == 200 and sign_in(api, token).status_code == 201
    # a session opened in the token's last hours ends with the token, not 10 h later
    clock.advance(days=30, minutes=-60)
    late = api.ok(sign_in(api, token), 201)
    assert late["expires_at"] == (clock.now + timedelta(minutes=60)).isoformat()
    clock.advance(minutes=60)
    assert me(api, token) == 401 and sign_in(api, token).status_code == 401
    assert me(api, late["token"]) == 401


def central_user(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "floorsync", "central", "user", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_cli_rotates_and_revokes_a_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    first = central_user("add", "erp", "--roles", "sales", "--expires-days", "90", "--db", url)
    assert first.returncode == 0, first.stderr
    assert "valid until" in first.stderr
    rotated = central_user("rotate", "erp", "--db", url)
    assert rotated.returncode == 0, rotated.stderr
    engine = make_engine(url)
    with engine.connect() as conn:
        assert authenticate(conn, first.stdout.strip()) is None
        assert authenticate(conn, rotated.stdout.strip()) is not None
    revoked = central_user("revoke", "erp", "--db", url)
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    with engine.connect() as conn:
        assert authenticate(conn, rotated.stdout.strip()) is None
    engine.dispose()
    assert central_user("revoke", "nobody", "--db", url).returncode == 1
    wrong = central_user("add", "x", "--roles", "sales", "--expires-days", "0", "--db", url)
    assert wrong.returncode == 2 and "1 to 3650 days" in wrong.stderr
