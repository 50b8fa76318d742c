"""The back-office simulator does what sales and planning would, through central's API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from central.api import create_app
from central.auth import create_user
from central.db import make_engine, migrate
from central.db.domain import invoices, production_orders, sales_orders, shipments
from central.seed import load_demo_company
from simulators.office import OfficeSimulator
from tests.central.api.conftest import TestClient, make_sync
from tests.central.conftest import EDGE


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_a_round_ships_what_is_ready_releases_work_and_takes_an_order(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.begin() as conn:
        load_demo_company(conn, edge_id=EDGE, now=datetime.now(UTC))
        token = create_user(conn, "office", ["sales", "planner"])
    ready = count(sqlite_engine, sales_orders, sales_orders.c.status == "ready")
    planned = count(sqlite_engine, production_orders, production_orders.c.status == "planned")
    released = count(sqlite_engine, production_orders, production_orders.c.status == "released")
    orders, sent = count(sqlite_engine, sales_orders), count(sqlite_engine, shipments)
    assert ready >= 1 and planned >= 1

    with TestClient(create_app(make_sync(sqlite_engine), manage=False)) as client:
        office = OfficeSimulator("", token, seed=3, client=client)
        office.round()

    assert count(sqlite_engine, sales_orders, sales_orders.c.status == "ready") == 0
    assert count(sqlite_engine, shipments) == sent + ready  # each with its invoice
    assert count(sqlite_engine, invoices) >= ready
    assert count(sqlite_engine, production_orders, production_orders.c.status == "released") == (
        released + 1
    )
    assert office.done["shipped"] == ready and office.done["released"] == 1
    assert office.done["ordered"] == 1 and office.done["confirmed"] == 1
    assert count(sqlite_engine, sales_orders) == orders + 1  # a new order, confirmed
    with sqlite_engine.connect() as conn:
        newest = conn.execute(
            select(sales_orders.c.status).order_by(sales_orders.c.id.desc()).limit(1)
        ).scalar_one()
    assert newest in ("confirmed", "held")  # held when the customer's credit says so
