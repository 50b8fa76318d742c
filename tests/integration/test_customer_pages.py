"""The customer 360, the planner's live view and the customer's progress link in headless
Chromium, on a real central with the demo company: production reports arrive over MQTT
and each page moves without a reload."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
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
LIVE_S = 3.0  # the target is 1 s; a loaded CI machine gets some slack


def floorsync(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


class Plant:
    """A seeded central on Mosquitto, a sales user, and a way to report from the floor."""

    def __init__(self, mosquitto: Mosquitto, tmp_path: Path) -> None:
        self.db = f"sqlite:///{tmp_path / 'central.db'}"
        floorsync("central.seed", "--database", self.db, "--edge-id", EDGE)
        self.token = floorsync(
            "floorsync",
            "central",
            "user",
            "add",
            "sam",
            "--roles",
            "sales,planner",
            "--database",
            self.db,
        ).strip()
        self.central = central_on(self.db, mosquitto.url, tmp_path)
        self.mosquitto = mosquitto
        self.seq = 0
        self.client: mqtt.Client | None = None

    def order_of(self, customer: str) -> tuple[str, str, str]:
        """The customer's released order: (sales order, work order, first operation)."""
        engine = sa.create_engine(self.db)
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT s.number, t.work_order, t.operation FROM sales_orders s"
                    " JOIN customers c ON c.id = s.customer_id"
                    " JOIN sales_order_lines l ON l.sales_order_id = s.id"
                    " JOIN production_orders p ON p.sales_order_line_id = l.id"
                    " JOIN operation_tasks t ON t.production_order_id = p.id"
                    " WHERE c.code = :c AND p.status = 'released'"
                    " ORDER BY t.sequence LIMIT 1"
                ),
                {"c": customer},
            ).one()
        engine.dispose()
        return row.number, row.work_order, row.operation

    def report(self, wo: str, operation: str, good: int) -> float:
        """Publish a production report as an edge would; returns when it was sent."""
        if self.client is None:  # connected once: a first CONNECT costs paho up to a second
            self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-floor")
            self.client.connect("127.0.0.1", self.mosquitto.port)
            self.client.loop_start()
            deadline = time.monotonic() + 10
            while not self.client.is_connected() and time.monotonic() < deadline:
                time.sleep(0.01)
        self.seq += 1
        now = time.time()
        payload = {
            "work_order": wo,
            "operation": operation,
            "good": good,
            "scrap": 0,
            "period_start": _iso(now - 600),
            "period_end": _iso(now),
        }
        sent = time.monotonic()
        message = batch(envelope(self.seq, payload, edge_id=FLOOR), edge_id=FLOOR)
        self.client.publish(events_topic(FLOOR), message, qos=1).wait_for_publish(5)
        return sent

    def close(self) -> None:
        self.central.stop()
        if self.client is not None:
            self.client.loop_stop()
            self.client.disconnect()


@pytest.fixture(name="plant")
def seeded_plant(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[Plant]:
    """The started plant; the other desk page modules import this fixture."""
    p = Plant(mosquitto, tmp_path)
    p.central.start()
    try:
        yield p
    except BaseException:
        print(p.central.log.read_text()[-4000:])
        raise
    finally:
        p.close()


def sign_in(page: Any, url: str, token: str) -> None:
    """Sign in on ``url`` and wait until the page has exchanged the token for a session
    (or said why not): leaving the page sooner would leave without the session."""
    page.goto(url)
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.wait_for_selector("#app:not([hidden]), #signin-error:not([hidden])")


def wait_changed(page: Any, selector: str, attribute: str, before: str | None) -> None:
    page.wait_for_function(
        "([s, a, b]) => { const n = document.querySelector(s);"
        " return n && n.getAttribute(a) !== b; }",
        arg=[selector, attribute, before],
        timeout=10_000,
    )


def test_the_customer_360_shows_the_whole_story_and_moves_with_the_floor(
    plant: Plant, page: Any
) -> None:
    number, wo, operation = plant.order_of("POLTECH")
    sign_in(page, f"{plant.central.url}/customers/POLTECH", plant.token)
    row = f'#orders tr[data-order="{number}"]'
    page.wait_for_selector(row)
    assert "Poltech" in page.inner_text("#head") or "POLTECH" in page.inner_text("#head")
    # the page traded the API token for a session and keeps only that
    kept = page.evaluate("sessionStorage.getItem('floorsync.token')")
    assert kept and kept != plant.token
    before = page.get_attribute(row, "data-progress")
    assert before == "0"
    page.click(f"{row} button")  # unfold the order's lines and operations
    page.wait_for_selector("#orders tr.sub .op")

    sent = plant.report(wo, operation, 10)
    wait_changed(page, row, "data-progress", before)
    seconds = time.monotonic() - sent
    print(f"floor event -> progress on the customer 360: {seconds:.2f} s")
    assert seconds < LIVE_S
    assert float(page.get_attribute(row, "data-progress") or 0) > 0
    assert page.is_visible("#orders tr.sub .op")  # still unfolded after the live redraw
    chip = page.inner_text("#orders tr.sub")
    assert f"{wo} {operation}" in chip and "10/" in chip

    # a call logged on the page lands on the customer's timeline, with the order already there
    page.wait_for_selector("#timeline li")
    page.select_option("#log-kind", "call")
    page.fill("#log-subject", "asked when the valves ship")
    page.press("#log-subject", "Enter")
    logged = '#timeline li[data-source="interaction"] >> text=asked when the valves ship'
    page.wait_for_selector(logged)
    assert page.locator('#timeline li[data-source="order"]').count() >= 1

    # the rest of the story is on the same page: the demo's shipped customer owes money
    page.fill("#lookup-code", "RHEINPMP")
    page.press("#lookup-code", "Enter")
    page.wait_for_selector("#shipments tbody tr")
    assert "DHL-77310458" in page.inner_text("#shipments")
    # its open warranty claim and the field repair it led to, and the rule tag for it
    assert "leaks at the stem" in page.inner_text("#tickets")
    assert "TEC-KLEIN" in page.inner_text("#repairs")
    assert "open complaint" in page.inner_text("#tags")
    assert page.inner_text("#receivables tbody tr")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "customer-360.png"), full_page=True)


def test_the_planner_sees_progress_and_load_move_live(plant: Plant, page: Any) -> None:
    _, wo, operation = plant.order_of("POLTECH")
    auth = {"Authorization": f"Bearer {plant.token}"}
    saved = httpx.post(
        f"{plant.central.url}/api/v1/schedule-runs", json={"save": True}, headers=auth, timeout=60
    )
    assert saved.status_code == 200, saved.text
    sign_in(page, f"{plant.central.url}/planner", plant.token)
    page.select_option("#by", "order")
    bar = f'.bar[data-op="{wo}/{operation}"] .progress-fill'
    page.wait_for_selector(bar, state="attached")
    page.wait_for_selector("#load [data-work-center]")
    before = page.get_attribute(bar, "style")
    load_before = page.inner_text("#load")

    sent = plant.report(wo, operation, 12)
    wait_changed(page, bar, "style", before)
    seconds = time.monotonic() - sent
    print(f"floor event -> operation progress on the planner: {seconds:.2f} s")
    assert seconds < LIVE_S
    page.wait_for_function(
        "t => document.querySelector('#load').innerText !== t", arg=load_before, timeout=10_000
    )  # the backlog shrank by the pieces made


def test_a_customer_follows_the_order_by_link_until_it_is_revoked(plant: Plant, page: Any) -> None:
    number, wo, operation = plant.order_of("POLTECH")
    auth = {"Authorization": f"Bearer {plant.token}"}
    link = httpx.post(
        f"{plant.central.url}/api/v1/sales-orders/{number}/links", headers=auth, timeout=10
    )
    assert link.status_code == 201, link.text
    page.goto(plant.central.url + link.json()["path"])  # no sign-in: the link is the key
    line = "#lines tbody tr"
    page.wait_for_selector(line)
    assert number in page.inner_text("#head")
    before = page.get_attribute(line, "data-progress")

    sent = plant.report(wo, operation, 15)
    wait_changed(page, line, "data-progress", before)
    print(f"floor event -> progress on the customer's page: {time.monotonic() - sent:.2f} s")
    assert time.monotonic() - sent < LIVE_S
    text = page.inner_text("body")
    assert wo not in text and "POLTECH" not in text  # no work orders, no internal codes
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "order-link.png"), full_page=True)

    revoked = httpx.post(
        f"{plant.central.url}/api/v1/sales-orders/{number}/links/{link.json()['id']}/revoke",
        headers=auth,
        timeout=10,
    )
    assert revoked.status_code == 200
    page.reload()
    page.wait_for_selector("#message:not([hidden])")
    assert "does not work" in page.inner_text("#message")
    assert page.is_hidden("#app")


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
