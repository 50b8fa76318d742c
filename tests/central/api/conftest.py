"""The central API over a CentralSync whose MQTT loop is never started, and its users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from central.api import create_app
from central.auth import create_user
from central.db import make_engine, migrate
from central.service import CentralSync
from central.settings import CentralSettings, DatabaseSettings, MqttSettings
from tests.central.conftest import EDGE
from tests.helpers import TestClient

ROLES = {
    "admin": ["admin"],
    "sales": ["sales"],
    "planner": ["planner"],
    "service": ["service"],
    "supervisor": ["supervisor"],
}


def make_sync(engine: Engine) -> CentralSync:
    settings = CentralSettings(
        database=DatabaseSettings(url=engine.url.render_as_string(hide_password=False)),
        # Never connected: the tests feed the ingestor directly.
        mqtt=MqttSettings(url="mqtt://127.0.0.1:1", client_id="central-api-test"),
    )
    return CentralSync(settings, engine)


class Api:
    """A test client that calls as one of the users (``admin`` unless ``user=`` says)."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def headers(self, user: str | None, key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, *, user: str | None = "admin", **params: Any) -> httpx.Response:
        return self.client.get(f"/api/v1{path}", params=params, headers=self.headers(user, None))

    def post(
        self, path: str, body: Any = None, *, user: str | None = "admin", key: str | None = None
    ) -> httpx.Response:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers(user, key))

    def put(self, path: str, body: Any, *, user: str | None = "admin") -> httpx.Response:
        return self.client.put(f"/api/v1{path}", json=body, headers=self.headers(user, None))

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()


def users(engine: Engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {name: create_user(conn, name, roles) for name, roles in ROLES.items()}


@pytest.fixture
def sync(engine: Engine) -> CentralSync:
    return make_sync(engine)


@pytest.fixture
def client(sync: CentralSync) -> Iterator[TestClient]:
    with TestClient(create_app(sync, manage=False)) as client:
        yield client


@pytest.fixture
def api(client: TestClient, engine: Engine) -> Api:
    """On SQLite and PostgreSQL."""
    return Api(client, users(engine))


@pytest.fixture
def sqlite_api(sqlite_engine: Engine) -> Iterator[Api]:
    """For what does not depend on the database."""
    with TestClient(create_app(make_sync(sqlite_engine), manage=False)) as client:
        yield Api(client, users(sqlite_engine))


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One SQLite database for a module's tests of what is refused (and so changes nothing)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('api') / 'central.db'}")
    migrate(engine)
    with TestClient(create_app(make_sync(engine), manage=False)) as client:
        yield Api(client, users(engine))
    engine.dispose()


def plant(api: Api, *, credit_limit_cents: int | None = None) -> None:
    """Master data through the API: a customer, a made frame of two bought parts, its line."""
    api.ok(
        api.post(
            "/customers",
            {"code": "ACME", "name": "Acme Pumps", "credit_limit_cents": credit_limit_cents},
            user="sales",
        ),
        201,
    )
    for code, kind, price in (("FRAME", "make", 12_500), ("BOLT", "buy", 10), ("TUBE", "buy", 300)):
        body = {"code": code, "description": code.title(), "kind": kind, "price_cents": price}
        api.ok(api.post("/items", body, user="planner"), 201)
    api.ok(
        api.post(
            "/work-centers",
            {"code": "WELD", "name": "Welding", "edge_id": EDGE, "stations": ["ST-10"]},
            user="planner",
        ),
        201,
    )
    routing = {
        "operations": [
            {"operation": "10", "sequence": 10, "work_center": "WELD", "run_minutes_per_unit": 2},
            {
                "operation": "20",
                "sequence": 20,
                "work_center": "WELD",
                "run_minutes_per_unit": 1,
                "predecessors": ["10"],
            },
        ]
    }
    api.ok(api.put("/items/FRAME/routing", routing, user="planner"))
    bom = {
        "lines": [
            {"operation": "10", "component": "BOLT", "quantity_per_unit": 4},
            {"operation": "10", "component": "TUBE", "quantity_per_unit": 2},
        ]
    }
    api.ok(api.put("/items/FRAME/bom", bom, user="planner"))
