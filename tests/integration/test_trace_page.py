"""The traceability page in headless Chromium, on a real central process.

The plant of the genealogy tests (rubber -> seal -> valve, shipped to Acme) is made
through ingest into a SQLite file; central serves it. Someone from service signs in,
traces the valve lot backward and sees the tree down to the rubber lot, then traces the
rubber forward and sees the customer to recall from; the address keeps the query.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from central.auth import create_user
from central.db import make_engine, migrate
from tests.central.aftersales.test_genealogy import plant
from tests.helpers import Mosquitto
from tests.integration.conftest import central_on

pytestmark = [pytest.mark.services, pytest.mark.slow]
SHOTS = os.environ.get("FLOORSYNC_SCREENSHOTS")


def test_a_lot_is_traced_backward_to_its_materials_and_forward_to_its_customer(
    mosquitto: Mosquitto, tmp_path: Path, page: Any
) -> None:
    db = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(db)
    migrate(engine)
    made = plant(engine)
    with engine.begin() as conn:
        token = create_user(conn, "sam", ["service"])
    engine.dispose()
    central = central_on(db, mosquitto.url, tmp_path)
    central.start()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{central.url}/trace")
        page.fill("#token", token)
        page.press("#token", "Enter")
        page.fill("#lot", made["valve"])
        page.click("#search button[type=submit]")

        # the valve's order, its crew and machine, and the seal lot nested with its rubber
        seal = f'#tree .node[data-work-order="{made["seal"]}"]'
        page.wait_for_selector(seal)
        assert page.url.endswith(f"?lot={made['valve']}&direction=backward")
        valve = page.inner_text(f'#tree .node[data-work-order="{made["valve"]}"]')
        for seen in ("Ana Ruiz (EMP-1)", "Ben Okafor (EMP-2)", "ASSY-1", "SCRATCH", "Chris Lee"):
            assert seen in valve
        assert page.is_visible(f'{seal} .material[data-lot="R-7"]')
        assert "PRESS-1" in page.inner_text(seal)
        assert "Acme Pumps" in page.inner_text("#shipments")
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "trace-backward.png"), full_page=True)

        # forward from the rubber: the valve lot it ended up in, and who got it
        page.check('input[name="direction"][value="forward"]')
        page.fill("#lot", "R-7")
        page.click("#search button[type=submit]")
        page.wait_for_selector("#customers >> text=Acme Pumps")
        assert made["valve"] in page.inner_text("#lots")
        assert made["shipment"] in page.inner_text("#customers")
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "trace-forward.png"), full_page=True)

        # the address is the query: back goes to the backward trace, a reload keeps forward
        page.go_back()
        page.wait_for_selector(seal)
        page.goto(f"{central.url}/trace?lot=NO-SUCH&direction=forward")
        page.wait_for_selector(".notfound >> text=NO-SUCH")
        assert page.is_checked('input[name="direction"][value="forward"]')
        assert errors == []
    except BaseException:
        print(central.log.read_text()[-4000:])
        raise
    finally:
        central.stop()
