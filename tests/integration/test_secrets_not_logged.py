"""No secret reaches central's log: database and broker passwords, API and session tokens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from protocols.mqtt import BrokerUrl
from tests.helpers import Mosquitto
from tests.integration.conftest import central_on

DB_SECRET = "db-Secret-7f3a9c"  # PostgreSQL here trusts local logins: the password goes unused
BROKER_SECRET = "mqtt-Secret-2b8e41"  # the test's broker lets anyone in: likewise
WRONG_TOKEN = "wrong-token-" + "q" * 32


def test_central_logs_no_password_and_no_token(
    pg_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    db_url = make_url(pg_url).set(password=DB_SECRET).render_as_string(hide_password=False)
    broker_url = f"mqtt://central:{BROKER_SECRET}@127.0.0.1:{mosquitto.port}"
    add = ["central", "user", "add", "ops", "--roles", "admin", "--db", db_url]
    made = subprocess.run(
        [sys.executable, "-m", "floorsync", *add, "--log-level", "debug"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    central = central_on(db_url, broker_url, tmp_path)
    central.args += ["--log-level", "debug"]
    central.start()
    try:
        api = f"{central.url}/api/v1"
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{api}/me", headers=bearer).status_code == 200
        signed = httpx.post(f"{api}/sessions", json={"token": token})
        session = signed.json()["token"]
        # the streams take the token in the query string, where access logs would show it
        with httpx.stream("GET", f"{api}/floor/stream", params={"token": session}) as stream:
            assert stream.status_code == 200
        assert httpx.get(f"{api}/floor/stream", params={"token": WRONG_TOKEN}).status_code == 401
        assert httpx.post(f"{api}/sessions", json={"token": WRONG_TOKEN}).status_code == 401
        assert httpx.get(f"{api}/nowhere", params={"token": session}).status_code == 404
        mine = {"Authorization": f"Bearer {session}"}
        assert httpx.delete(f"{api}/sessions/current", headers=mine).status_code == 204
        mosquitto.stop()  # central logs the lost broker and its reconnects
        mosquitto.start()
    finally:
        central.stop()
    log = central.log.read_text() + made.stderr
    assert "central starting" in log and "sign-in failed" in log
    for secret in (DB_SECRET, BROKER_SECRET, token, session, WRONG_TOKEN):
        assert secret not in log


def test_a_broker_url_refused_does_not_repeat_its_password() -> None:
    for url in (f"http://central:{BROKER_SECRET}@127.0.0.1:1883", f"mqtt://u:{BROKER_SECRET}@/x"):
        with pytest.raises(ValueError, match=r":\*\*\*@") as refused:
            BrokerUrl.parse(url)
        assert BROKER_SECRET not in str(refused.value)
