"""Shared fixtures: real Mosquitto brokers and PostgreSQL databases made fresh for each test.

With FLOORSYNC_REQUIRE_SERVICES=1 (CI), a test that cannot get its service fails
instead of skipping.
"""

from __future__ import annotations

import gc
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import PG_ADMIN_URL, Mosquitto, unavailable


@pytest.fixture(scope="session")
def mosquitto_binary() -> str:
    binary = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    if binary is None:
        unavailable("mosquitto is not installed")
    assert binary is not None
    return binary


@pytest.fixture
def mosquitto(mosquitto_binary: str, tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(mosquitto_binary, tmp_path)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"floorsync_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.orig}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(autouse=True, scope="module")
def _collect_all_garbage_before_each_module() -> None:
    """The collection after each test walks only what that test made (the rest is frozen):
    milliseconds, not the half second a whole heap of imports takes. Here, as each module
    starts, the whole heap is walked, so what the last module's fixtures leaked warns too."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Unclosed sockets and event loops warn when collected; collect here so the test that
    leaked one fails, not whichever test the collector happens to run in later."""
    yield
    gc.collect()
    gc.freeze()  # what outlives the test is walked again when the next module starts


CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """Debian's chromium, for headless browser tests."""
    binary = next((p for p in CHROMIUM if Path(p).exists()), None) or shutil.which("chromium")
    if binary is None:
        unavailable("chromium is not installed (apt-get install chromium)")
    assert binary is not None
    return binary


@pytest.fixture
def page(chromium_binary: str) -> Iterator[Any]:
    """A page in headless Chromium driven by Playwright (no browser download).

    Playwright's sync API runs an event loop in this thread while it lives, so it lives
    for one test only: later tests may call asyncio.run().
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_binary, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        yield page
        browser.close()
