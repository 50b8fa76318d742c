"""Idempotency keys: a retry gets the first answer and changes nothing; a reused key is 422."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Response
from sqlalchemy import Connection, Engine, func, insert, select

from central.api import idempotency
from central.api.deps import Write
from central.auth import authenticate, create_user
from central.db import make_engine, migrate
from central.db.domain import customers, idempotency_keys, production_orders, sales_orders
from tests.central.api.conftest import Api, plant

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ORDER = {"customer": "ACME", "type": "make_to_order", "lines": [{"item": "FRAME", "quantity": 2}]}


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_retried_create_returns_the_first_answer_and_creates_one_row(
    api: Api, engine: Engine
) -> None:
    body = {"code": "ACME", "name": "Acme Pumps"}
    first = api.post("/customers", body, user="sales", key="k-1")
    again = api.post("/customers", body, user="sales", key="k-1")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["code"] == "ACME"
    assert count(engine, customers) == 1
    # without a key the same request is a second attempt, refused as a duplicate
    assert api.post("/customers", body, user="sales").status_code == 409


def test_the_same_key_for_another_request_is_422(api: Api, engine: Engine) -> None:
    api.ok(api.post("/customers", {"code": "ACME", "name": "Acme"}, user="sales", key="k"), 201)

    response = api.post("/customers", {"code": "BETA", "name": "Beta"}, user="sales", key="k")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert count(engine, customers) == 1
    # keys are per user: another user's "k" is a key of its own
    api.ok(api.post("/customers", {"code": "BETA", "name": "Beta"}, user="admin", key="k"), 201)
    assert count(engine, idempotency_keys) == 2


def test_sales_order_create_and_confirm_are_done_once(api: Api, engine: Engine) -> None:
    plant(api)
    created = api.ok(api.post("/sales-orders", ORDER, user="sales", key="order-1"), 201)
    retried = api.ok(api.post("/sales-orders", ORDER, user="sales", key="order-1"), 201)
    assert created == retried
    assert count(engine, sales_orders) == 1

    path = f"/sales-orders/{created['number']}/confirm"
    confirmed = api.ok(api.post(path, user="sales", key="confirm-1"))
    assert api.ok(api.post(path, user="sales", key="confirm-1")) == confirmed
    assert confirmed["status"] == "confirmed"
    assert count(engine, production_orders) == 1
    # a new key is a new attempt: the order is no longer a draft
    assert api.post(path, user="sales", key="confirm-2").status_code == 409


def test_a_refused_request_leaves_its_key_free(api: Api, engine: Engine) -> None:
    plant(api)
    wrong = {**ORDER, "lines": [{"item": "NOPE", "quantity": 2}]}

    assert api.post("/sales-orders", wrong, user="sales", key="order-1").status_code == 422
    assert count(engine, idempotency_keys) == 0
    api.ok(api.post("/sales-orders", ORDER, user="sales", key="order-1"), 201)
    assert count(engine, sales_orders) == 1


def test_a_key_longer_than_128_characters_is_refused(shared_api: Api) -> None:
    response = shared_api.post("/customers", {"code": "A", "name": "A"}, key="k" * 129)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["where"] == "header.idempotency-key"


def test_of_two_concurrent_requests_with_one_key_the_later_gets_the_first_answer(
    pg_url: str,
) -> None:
    """The later commit hits the key's primary key, rolls back, and answers as the first did."""
    engine = make_engine(pg_url)
    migrate(engine)
    with engine.begin() as conn:
        user = authenticate(conn, create_user(conn, "sales", ["sales"]))
    assert user is not None
    first_answer = {"code": "ACME", "name": "first"}

    def work(conn: Connection) -> dict[str, Any]:
        # the other request commits its effect and answer while this one is under way
        with engine.begin() as other:
            other.execute(insert(customers).values(code="ACME", name="first", created_at=NOW))
            idempotency.remember(other, user.id, "k", "same", 201, first_answer, NOW)
        conn.execute(insert(customers).values(code="ACME-2", name="second", created_at=NOW))
        return {"code": "ACME-2", "name": "second"}

    response = Response()
    answer = Write(engine, user, "k", "same", 201, response)(work)

    assert answer == first_answer
    assert response.status_code == 201
    assert count(engine, customers) == 1
    engine.dispose()
