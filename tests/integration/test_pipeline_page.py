"""The pipeline board in headless Chromium, on a real central process: a salesperson drags
a deal from one stage to the next and both columns' totals change; the stage select does the
same from the keyboard, and my day lists a task until it is done."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from central.auth import create_user
from central.crm import followups, opportunities
from central.db import make_engine, migrate
from central.db.domain import customers, users
from tests.helpers import Mosquitto
from tests.integration.conftest import central_on

SHOTS = os.environ.get("FLOORSYNC_SCREENSHOTS")
pytestmark = [pytest.mark.services, pytest.mark.slow]


def deals(engine: Engine) -> str:
    """Two deals in qualify and one in analysis; returns the sales user's token."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        token = create_user(conn, "sam", ["sales"])
        sam = conn.execute(users.select().where(users.c.name == "sam")).one().id
        acme = conn.execute(
            insert(customers).values(code="ACME", name="Acme Pumps", created_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]
        for name, amount, stage, days in (
            ("Pump line", 100_000, "qualify", 5),
            ("Spares", 20_000, "qualify", 20),
            ("Retrofit", 60_000, "analysis", 10),
        ):
            opportunities.create(
                conn,
                name=name,
                customer_id=acme,
                amount_cents=amount,
                expected_close=date.today() + timedelta(days=days),
                owner_id=sam,
                stage=stage,
                by_id=sam,
                now=now,
            )
        task = {"owner_id": sam, "kind": "call", "title": "Call Acme", "due_at": now}
        followups.create(conn, task, now)
    return token


def test_a_deal_dragged_to_the_next_stage_moves_the_totals(
    mosquitto: Mosquitto, tmp_path: Path, page: Any
) -> None:
    db = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(db)
    migrate(engine)
    token = deals(engine)
    engine.dispose()
    central = central_on(db, mosquitto.url, tmp_path)
    central.start()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{central.url}/pipeline")
        page.fill("#token", token)
        page.press("#token", "Enter")
        qualify, analysis = '[data-drop="qualify"]', '[data-drop="analysis"]'
        page.wait_for_selector(f"{qualify} .deal")
        assert page.get_attribute(f"{qualify} .sum", "data-amount") == "120000"
        assert page.get_attribute(f"{analysis} .sum", "data-amount") == "60000"
        weighted = page.inner_text("#total-weighted")

        card = page.locator(".deal", has_text="Pump line")
        card.drag_to(page.locator(analysis))
        page.wait_for_selector(f'{analysis} .sum[data-amount="160000"]')
        assert page.get_attribute(f"{qualify} .sum", "data-count") == "1"
        assert page.inner_text("#total-weighted") != weighted  # 10 % -> 25 % of 1,000.00

        # the keyboard way: the card's stage select
        page.select_option(".deal[data-number] select >> nth=0", "proposal")
        page.wait_for_selector('[data-drop="proposal"] .sum[data-count="1"]')
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "pipeline.png"), full_page=True)

        page.goto(f"{central.url}/my-day")
        page.wait_for_selector("#today tr[data-task] button, #overdue tr[data-task] button")
        page.click("tr[data-task] button")
        page.wait_for_selector("#today p.muted")
        page.wait_for_selector("#overdue p.muted")
        assert errors == []
    except BaseException:
        print(central.log.read_text()[-4000:])
        raise
    finally:
        central.stop()
