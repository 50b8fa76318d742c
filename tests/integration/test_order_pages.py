"""The sales order pages and the sales setup in headless Chromium on a real seeded central:
the order list filtered by status, an order's production moving as the floor reports, a draft
confirmed (and one held on credit), a progress link made and revoked, and the pipeline stages
and assignment rules an admin edits in place while a sales user may only read them."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.integration.test_customer_pages import (
    Plant,
    floorsync,
    seeded_plant,  # noqa: F401 (the plant fixture)
    sign_in,
    wait_changed,
)
from tests.integration.test_sales_pages import Api

pytestmark = [pytest.mark.services, pytest.mark.slow]
TIMEOUT = 10_000


def test_orders_and_the_sales_setup_on_their_pages(plant: Plant, page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TIMEOUT)
    orders(plant, page)
    setup(plant, page)
    assert errors == []


def orders(plant: Plant, page: Any) -> None:
    sales = Api(plant, plant.token)
    lines = [{"item": "VLV-BALL-25", "quantity": 2}]
    quote = sales.call("POST", "/quotes", {"customer": "CASCADE", "lines": lines}, status=201)
    for step in ("submit", "send"):
        sales.call("POST", f"/quotes/{quote['number']}/{step}")
    fresh = sales.call("POST", f"/quotes/{quote['number']}/accept")["sales_order"]  # a draft
    held = {"customer": "ADRIAFL", "type": "standard", "lines": [{**lines[0], "quantity": 10}]}
    over_credit = sales.call("POST", "/sales-orders", held, status=201)["number"]

    sign_in(page, f"{plant.central.url}/sales-orders", plant.token)
    page.wait_for_selector("#orders tr[data-order]")
    assert "Value" in page.inner_text("#orders thead")  # sales may see what orders are worth
    page.select_option("#f-status", "draft")
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll('#orders tr[data-order]')];"
        " return rows.length === 4 && rows.every((r) => r.dataset.status === 'draft'); }"
    )  # the seed's two and ours

    # confirm a draft on its page; one over its customer's credit limit is held, saying why
    page.click(f'#orders tr[data-order="{fresh}"] a >> text={fresh}')
    page.wait_for_selector("#status dd")
    assert page.inner_text("#status dd") == "draft"
    assert page.get_attribute("#quote a", "href") == f"/quotes/{quote['number']}"
    page.click("[data-step='confirm']")
    page.wait_for_function("() => document.querySelector('#status dd').textContent !== 'draft'")
    assert page.inner_text("#status dd") in ("confirmed", "ready")
    assert sales.call("GET", f"/sales-orders/{fresh}")["status"] in ("confirmed", "ready")
    page.goto(f"{plant.central.url}/sales-orders/{over_credit}")
    page.click("[data-step='confirm']")
    page.wait_for_selector("#message.error:has-text('credit limit')")
    page.wait_for_selector("#hold")
    assert page.inner_text("#status dd") == "held"

    # a released order: its operations move as the floor reports, without a reload
    number, wo, operation = plant.order_of("POLTECH")
    page.goto(f"{plant.central.url}/sales-orders/{number}")
    task = f'#production tr[data-op="{wo}/{operation}"]'
    page.wait_for_selector(task)
    assert "VLV-BALL-25" in page.inner_text("#lines")
    assert page.get_attribute(task, "data-good") == "0"
    block = f'#production .po[data-po="{wo}"]'
    before = page.get_attribute(block, "data-progress")
    plant.report(wo, operation, 10)
    wait_changed(page, task, "data-good", "0")
    assert page.get_attribute(task, "data-good") == "10"
    assert float(page.get_attribute(block, "data-progress") or 0) > float(before or 0)
    assert "10 / 30" in page.inner_text(task)

    # a progress link for the customer: its address shown once, then revoked
    page.click("#l-go")
    page.wait_for_selector("#new-link:not([hidden])")
    url = page.input_value("#link-url")
    assert re.fullmatch(re.escape(plant.central.url) + r"/track/[A-Za-z0-9_-]{20,}", url), url
    token = url.rsplit("/", 1)[1]
    assert httpx.get(f"{plant.central.url}/api/v1/track/{token}", timeout=10).status_code == 200
    page.wait_for_selector('#links tr[data-active="true"]')
    page.click('#links tr[data-active="true"] button')
    page.wait_for_selector('#links tr[data-active="false"]')
    assert page.is_hidden("#new-link")
    assert httpx.get(f"{plant.central.url}/api/v1/track/{token}", timeout=10).status_code == 404


def setup(plant: Plant, page: Any) -> None:
    admin_token = floorsync(
        "floorsync", "central", "user", "add", "ada", "--roles", "admin", "--database", plant.db
    ).strip()
    admin = Api(plant, admin_token)

    # the sales user (still signed in) reads the lists, with the reason nothing can be changed
    page.goto(f"{plant.central.url}/sales-setup")
    page.wait_for_selector("#readonly:not([hidden])")
    assert "only an admin" in page.inner_text("#readonly")
    assert page.locator("#stages tr[data-stage]").count() >= 1
    assert page.locator("#new-stage, #new-rule").count() == 0
    buttons = page.locator("#stages button, #rules button")
    assert all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
    refused = httpx.post(
        f"{plant.central.url}/api/v1/pipeline-stages",
        json={"code": "x", "name": "X", "position": 999, "probability": 0.1},
        headers={"Authorization": f"Bearer {plant.token}"},
        timeout=10,
    )
    assert refused.status_code == 403  # what the page says, the API holds

    # an admin edits them in place; a refusal (a taken position) changes nothing
    page.click("#signout")
    page.fill("#token", admin_token)
    page.press("#token", "Enter")
    page.wait_for_selector("#new-stage")
    assert page.is_hidden("#readonly")
    taken = page.input_value("#stages tr[data-stage] .s-position")
    new = "#new-stage"
    page.fill(f"{new} .s-code", "trial")
    page.fill(f"{new} .s-name", "Trial")
    page.fill(f"{new} .s-position", taken)
    page.fill(f"{new} .s-probability", "30")
    page.click(f"{new} [data-act='add']")
    page.wait_for_selector("#message.error:has-text('position_taken')")  # and nothing added
    assert "trial" not in [s["code"] for s in admin.call("GET", "/pipeline-stages")]
    page.fill(f"{new} .s-position", "555")
    page.click(f"{new} [data-act='add']")
    row = '#stages tr[data-stage="trial"]'
    page.wait_for_selector(row)
    page.fill(f"{row} .s-probability", "45")
    page.click(f"{row} [data-act='save']")
    page.wait_for_selector("#message:has-text('Stage trial saved')")
    stage = next(s for s in admin.call("GET", "/pipeline-stages") if s["code"] == "trial")
    assert (stage["name"], stage["position"], stage["probability"]) == ("Trial", 555, 0.45)
    page.click(f"{row} [data-act='delete']")
    page.wait_for_selector(row, state="detached")

    rules = len(admin.call("GET", "/assignment-rules"))
    page.fill("#new-rule .r-territory", "PL")
    page.select_option("#new-rule .r-tier", "A")
    page.fill("#new-rule .r-owner", "sam")
    page.click("#new-rule [data-act='add']")
    page.wait_for_function(
        "n => document.querySelectorAll('#rules tr[data-rule]').length === n", arg=rules + 1
    )
    added = admin.call("GET", "/assignment-rules")[-1]
    assert (added["territory"], added["tier"], added["owner"]) == ("PL", "A", "sam")
    page.click(f'#rules tr[data-rule="{added["id"]}"] [data-act="delete"]')
    page.wait_for_function(
        "n => document.querySelectorAll('#rules tr[data-rule]').length === n", arg=rules
    )
