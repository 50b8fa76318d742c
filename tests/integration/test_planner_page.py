"""The planner's Gantt chart in headless Chromium, on a real central with the demo company.

A planner signs in with a token, sees the saved plan by work center, proposes a new one;
then a slow production report arrives from the floor over MQTT and the order's predicted
finish moves on the page without a reload.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from tests.central.conftest import batch, envelope, events_topic
from tests.helpers import Mosquitto
from tests.integration.conftest import central_on

pytestmark = [pytest.mark.services, pytest.mark.slow]
EDGE = "plant1/assembly/line1/edge1"
FLOOR = "plant1/assembly/line1/edge9"  # a second edge of the line, new to central
SHOTS = os.environ.get("FLOORSYNC_SCREENSHOTS")


def floorsync(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_a_planner_sees_the_plan_and_a_slow_operation_moves_its_predicted_finish(
    mosquitto: Mosquitto, tmp_path: Path, page: Any
) -> None:
    db = f"sqlite:///{tmp_path / 'central.db'}"
    floorsync("central.seed", "--database", db, "--edge-id", EDGE)
    token = floorsync(
        "floorsync", "central", "user", "add", "paula", "--roles", "planner", "--database", db
    ).strip()
    central = central_on(db, mosquitto.url, tmp_path)
    central.start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        saved = httpx.post(
            f"{central.url}/api/v1/schedule-runs", json={"save": True}, headers=auth, timeout=60
        )
        assert saved.status_code == 200, saved.text

        page.goto(f"{central.url}/planner")
        page.fill("#token", token)
        page.press("#token", "Enter")
        page.wait_for_selector("#gantt .bar")
        rows = page.eval_on_selector_all("[data-row]", "rs => rs.map(r => r.dataset.row)")
        assert set(rows) <= {"CNC", "ASSY", "TEST"} and rows
        first = saved.json()["operations"][0]
        op = f"{first['work_order']}/{first['operation']}"
        assert page.is_visible(f'.bar[data-op="{op}"]')

        page.click("#run-form button[type=submit]")  # propose: a what-if, nothing saved
        page.wait_for_selector("#kpis >> text=akespan")

        # drag a pending operation later: the engine places it (no earlier) and shows where
        bar = page.locator('.bar[data-draggable="true"]').first
        dragged = bar.get_attribute("data-op")
        box = bar.bounding_box()
        assert box is not None
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 4, y)
        page.mouse.down()
        page.mouse.move(box["x"] + 204, y, steps=10)
        page.mouse.up()
        # its proposal is drawn as a ghost bar and listed as moved, later than it was
        page.wait_for_selector(f'.ghost[data-op="{dragged}"]', state="attached")
        page.wait_for_selector(f'#moved [data-op="{dragged}"]')
        assert "+" in page.inner_text(f'#moved [data-op="{dragged}"]')
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / "planner.png"), full_page=True)

        # the first operation of a released order starts, and makes one piece in eight hours
        engine = sa.create_engine(db)
        with engine.connect() as conn:
            wo, operation = conn.execute(
                sa.text(
                    "SELECT t.work_order, t.operation FROM operation_tasks t"
                    " JOIN production_orders p ON p.id = t.production_order_id"
                    " WHERE p.status = 'released' ORDER BY t.work_order, t.sequence LIMIT 1"
                )
            ).one()
        engine.dispose()
        item = f'#predictions [data-work-order="{wo}"]'
        page.wait_for_selector(item)
        before = page.inner_text(item)
        now = time.time()
        report = {
            "work_order": wo,
            "operation": operation,
            "good": 1,
            "scrap": 0,
            "period_start": _iso(now - 8 * 3600),
            "period_end": _iso(now),
        }
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-floor")
        client.connect("127.0.0.1", mosquitto.port)
        client.loop_start()
        # timed from a connected client: paho's first CONNECT alone can take a second
        deadline = time.monotonic() + 10
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        sent = time.monotonic()
        client.publish(
            events_topic(FLOOR), batch(envelope(1, report, edge_id=FLOOR), edge_id=FLOOR), qos=1
        ).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
        page.wait_for_function(
            "([s, t]) => document.querySelector(s)?.innerText !== t",
            arg=[item, before],
            timeout=10_000,
        )
        seconds = time.monotonic() - sent
        print(f"floor event -> predicted finish on the page: {seconds:.2f} s")
        assert seconds < 5  # the target is 2 s; a loaded CI machine gets some slack
    except BaseException:
        print(central.log.read_text()[-4000:])
        raise
    finally:
        central.stop()


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
