"""Who may use the edge: badge sign-in at terminals, supervisors with their PIN, API tokens;
every API route refuses a request without one, and sessions end."""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from edge.api import create_app
from edge.auth import ApiTokens, Principal, Sessions, hash_token, new_api_token
from edge.node import EdgeNode
from edge.settings import ApiTokenSettings
from floorsync import cli
from tests.edge.test_workstations import (
    ANNA,
    BOSS,
    JONAS,
    MAREK,
    PIN,
    PIN_HASH,
    WO,
    events,
    line_edge,
    settings,
)
from tests.helpers import EDGE_AUTH, TestClient

OPEN = {"/health", "/ready", "/metrics", "/api/v1/sessions", "/docs", "/openapi.json"}
INTEGRATION_TOKEN, INTEGRATION_HASH = new_api_token()
UNKNOWN = "EMP-9999"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EdgeNode]:
    cfg = settings(tmp_path / "edge")
    tokens = [
        *cfg.api_tokens,
        type(cfg.api_tokens[0])(name="mes", role="integration", token_hash=INTEGRATION_HASH),
    ]
    cfg = cfg.model_copy(
        update={
            "api_tokens": tokens,
            "terminal": cfg.terminal.model_copy(update={"sign_in_attempts": 3}),
        }
    )
    with line_edge(cfg) as edge:
        yield edge


@pytest.fixture
def client(node: EdgeNode) -> Iterator[TestClient]:
    with TestClient(create_app(node, manage=False)) as test_client:
        yield test_client


def sign_in(client: TestClient, badge: str, **more: Any) -> Any:
    return client.post("/api/v1/sessions", json={"badge": badge, **more})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_api_route_refuses_a_request_without_a_valid_token(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    routes = [(m.upper(), p) for p, ops in paths.items() if p not in OPEN for m in ops]
    assert len(routes) >= 17  # the station steps, streams, line, events, config, sessions
    for method, route in routes:
        path = route.replace("{station}", "ST-10")
        for headers in ({}, bearer("made-up"), bearer("fse_" + "x" * 43)):
            answer = client.request(method, path, headers=headers, json={})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_operator_signs_in_with_the_badge_for_their_station_only(
    client: TestClient, node: EdgeNode
) -> None:
    answer = sign_in(client, ANNA, station="ST-10")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["role"] == "operator" and body["station"] == "ST-10"
    assert body["name"] == "Anna Lindqvist" and body["message"] == "Welcome Anna Lindqvist."
    # signing in is logging in to the crew: recorded once, not toggled by a second sign-in,
    # which replaces the first session (one per badge and station)
    again = sign_in(client, ANNA, station="ST-10").json()
    assert again["message"].startswith("Welcome back")
    assert [e["payload"]["operator"] for e in events(node, "operator_login")] == [ANNA]
    assert client.get("/api/v1/sessions/current", headers=bearer(body["token"])).status_code == 401

    anna = bearer(again["token"])
    assert client.post("/api/v1/stations/ST-10/scan", json={"input": WO}, headers=anna).is_success
    elsewhere = client.get("/api/v1/stations/ST-20/view", headers=anna)
    assert elsewhere.status_code == 403 and elsewhere.json()["error"]["code"] == "other_station"
    for method, path in (
        ("GET", "/api/v1/line"),
        ("GET", "/api/v1/status"),
        ("POST", "/api/v1/events"),
        ("GET", "/api/v1/config"),
    ):
        refused = client.request(method, path, headers=anna, json={})
        assert refused.status_code == 403, (path, refused.text)
    me = client.get("/api/v1/sessions/current", headers=anna).json()
    assert me == {"badge": ANNA, "name": "Anna Lindqvist", "role": "operator", "station": "ST-10"}


def test_scanning_the_badge_to_log_out_ends_the_session(client: TestClient) -> None:
    anna = bearer(sign_in(client, ANNA, station="ST-10").json()["token"])
    jonas = bearer(sign_in(client, JONAS, station="ST-10").json()["token"])
    out = client.post("/api/v1/stations/ST-10/scan", json={"input": ANNA}, headers=anna)
    assert out.status_code == 200 and "Anna" in out.json()["message"]
    assert client.get("/api/v1/stations/ST-10/view", headers=anna).status_code == 401
    assert client.get("/api/v1/stations/ST-10/view", headers=jonas).status_code == 200


def test_an_unknown_badge_is_refused_records_nothing_and_is_rate_limited(
    client: TestClient, node: EdgeNode
) -> None:
    before = events(node)
    for _ in range(3):
        answer = sign_in(client, UNKNOWN, station="ST-10")
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unknown_badge"
    limited = sign_in(client, UNKNOWN, station="ST-10")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    # the address is limited too: even a known badge waits now
    assert sign_in(client, ANNA, station="ST-10").status_code == 429
    assert events(node) == before
    nowhere = sign_in(client, ANNA, station="ST-99")
    assert nowhere.status_code in (404, 429)


def test_an_operator_cannot_open_the_line_and_a_supervisor_needs_the_pin(
    client: TestClient,
) -> None:
    line = sign_in(client, ANNA)
    assert line.status_code == 403 and line.json()["error"]["code"] == "supervisor_needed"
    assert sign_in(client, BOSS).json()["error"]["code"] == "pin_needed"
    wrong = sign_in(client, BOSS, pin="0000")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "wrong_pin"
    boss = sign_in(client, BOSS, pin=PIN)
    assert boss.status_code == 201 and boss.json()["role"] == "supervisor"
    token = bearer(boss.json()["token"])
    assert client.get("/api/v1/line", headers=token).status_code == 200
    for station in ("ST-10", "ST-20"):
        assert client.get(f"/api/v1/stations/{station}/view", headers=token).status_code == 200
    assert client.get("/api/v1/config", headers=token).status_code == 403


def test_a_supervisor_locked_out_by_wrong_pins_waits(client: TestClient) -> None:
    for _ in range(3):  # pin_attempts = 3 in these settings
        assert sign_in(client, BOSS, pin="0000").status_code == 401
    locked = sign_in(client, BOSS, pin=PIN)
    assert locked.status_code == 429, locked.text


def test_sessions_end_when_idle_at_the_latest_and_on_sign_out(
    client: TestClient, node: EdgeNode
) -> None:
    access = client.app.state.access  # type: ignore[attr-defined]
    now = [1_000_000.0]
    access.sessions.clock = lambda: now[0]
    boss = bearer(sign_in(client, BOSS, pin=PIN).json()["token"])
    idle_s = node.settings.terminal.idle_minutes * 60
    now[0] += idle_s - 1
    assert client.get("/api/v1/line", headers=boss).status_code == 200  # used: idle again
    now[0] += idle_s - 1
    assert client.get("/api/v1/line", headers=boss).status_code == 200
    now[0] += idle_s + 1
    assert client.get("/api/v1/line", headers=boss).status_code == 401

    again = bearer(sign_in(client, BOSS, pin=PIN).json()["token"])
    assert client.delete("/api/v1/sessions/current", headers=again).status_code == 204
    assert client.get("/api/v1/line", headers=again).status_code == 401


def test_a_session_ends_after_its_hours_however_busy() -> None:
    now = [0.0]
    sessions = Sessions(max_s=3600, idle_s=600, clock=lambda: now[0])
    token, who, ends = sessions.open(Principal(BOSS, "supervisor"))
    assert ends == 3600
    for _ in range(11):  # used every 5 min: never idle
        now[0] += 300
        assert sessions.check(token) == who
    now[0] = 3600
    assert sessions.check(token) is None


def test_api_tokens_by_role_and_the_config_without_secrets(client: TestClient) -> None:
    mes = bearer(INTEGRATION_TOKEN)
    event = {
        "kind": "operator_logout",
        "station": "ST-10",
        "payload": {"operator": ANNA},
    }
    assert client.post("/api/v1/events", json=event, headers=mes).status_code == 201
    assert client.get("/api/v1/line", headers=mes).status_code == 200
    assert client.get("/api/v1/config", headers=mes).status_code == 403
    assert client.delete("/api/v1/sessions/current", headers=mes).status_code == 422

    config = client.get("/api/v1/config", headers=EDGE_AUTH)
    assert config.status_code == 200
    text = config.text
    assert PIN_HASH not in text and INTEGRATION_HASH not in text
    assert hash_token(EDGE_AUTH["Authorization"][7:]) not in text
    assert config.json()["stations"][0]["name"] == "ST-10"


def test_sign_ins_are_logged_with_who_never_with_the_pin_or_token(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = sign_in(client, BOSS, pin=PIN).json()["token"]
    assert sign_in(client, BOSS, pin="9876").status_code == 401
    assert client.get("/api/v1/line", headers=bearer(token)).status_code == 200
    standard = set(vars(logging.makeLogRecord({})))
    text = "\n".join(
        f"{r.getMessage()} {[v for k, v in vars(r).items() if k not in standard]}"
        for r in caplog.records
    )
    assert "signed in" in text and "sign-in failed" in text and BOSS in text
    for secret in (PIN, "9876", token):
        assert secret not in text


def test_the_api_token_command_prints_a_token_the_edge_accepts_and_its_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["edge", "api-token", "--name", "mes", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    token = re.search(r"(fse_\S+)", out)
    entry = tomllib.loads(out[out.index("[[api_tokens]]") :])["api_tokens"][0]
    assert token and entry["name"] == "mes" and entry["role"] == "admin"
    settings = ApiTokenSettings.model_validate(entry)
    accepted = ApiTokens([(settings.name, settings.role, settings.token_hash)])
    assert accepted.check(token.group(1)) == Principal("mes", "admin")
    assert accepted.check(token.group(1)[:-1] + "x") is None
    assert cli.main(["edge", "api-token", "--name", "no spaces"]) == 2


def test_sign_ins_at_two_stations_at_once_do_not_wait_on_each_other(client: TestClient) -> None:
    # each login logs the badge out elsewhere: both stations' locks, in turn, never nested
    def sign_ins(badge: str, station: str) -> list[int]:
        return [sign_in(client, badge, station=station).status_code for _ in range(15)]

    with ThreadPoolExecutor(2) as pool:
        ten = pool.submit(sign_ins, ANNA, "ST-10")
        twenty = pool.submit(sign_ins, MAREK, "ST-20")
        assert set(ten.result(timeout=30)) == {201}
        assert set(twenty.result(timeout=30)) == {201}


def test_a_session_ends_with_its_login_even_if_the_badge_is_back_since(
    client: TestClient,
) -> None:
    anna = bearer(sign_in(client, ANNA, station="ST-10").json()["token"])
    for _ in range(2):  # out and in again, at the terminal's scan field
        scan = client.post("/api/v1/stations/ST-10/scan", json={"input": ANNA}, headers=EDGE_AUTH)
        assert scan.is_success
    assert client.get("/api/v1/stations/ST-10/view", headers=anna).status_code == 401


def test_a_badge_is_read_as_the_scan_field_reads_it_and_api_tokens_stay_out_of_urls(
    client: TestClient,
) -> None:
    scanned = sign_in(client, f" {ANNA}\r\n", station="ST-10")
    assert scanned.status_code == 201 and scanned.json()["badge"] == ANNA
    token = EDGE_AUTH["Authorization"].removeprefix("Bearer ")
    in_url = client.get(f"/api/v1/line/stream?token={token}", headers={"Authorization": ""})
    assert in_url.status_code == 401
