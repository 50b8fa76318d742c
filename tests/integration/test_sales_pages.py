"""The sales pages in headless Chromium on a real seeded central: a lead converted into a
deal (through the duplicate prompt when the company is a customer already), a quote made,
submitted, refused approval without the admin role, sent and accepted into a confirmed
sales order, and the customer 360's decision map and change history."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_customer_pages import (
    SHOTS,
    Plant,
    floorsync,
    seeded_plant,  # noqa: F401 (the plant fixture)
    sign_in,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]
TIMEOUT = 10_000


class Api:
    """The plant's REST API as one user."""

    def __init__(self, plant: Plant, token: str) -> None:
        self.base = f"{plant.central.url}/api/v1"
        self.auth = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        r = httpx.request(method, self.base + path, json=body, headers=self.auth, timeout=30)
        assert r.status_code == status, r.text
        return r.json()


def test_leads_and_quotes_become_deals_and_orders_on_the_pages(plant: Plant, page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TIMEOUT)
    sales = Api(plant, plant.token)
    admin_token = floorsync(
        "floorsync", "central", "user", "add", "ada", "--roles", "admin", "--database", plant.db
    ).strip()

    leads(plant, page, sales)
    quote(plant, page, sales, Api(plant, admin_token))
    account(plant, page, sales)
    assert errors == []


def leads(plant: Plant, page: Any, sales: Api) -> None:
    sign_in(page, f"{plant.central.url}/leads", plant.token)
    page.wait_for_selector("#leads tr[data-lead]")
    assert page.locator("#leads tr[data-lead]").count() == 2  # the seed's two
    page.select_option("#f-source", "trade_show")
    page.wait_for_function("document.querySelectorAll('#leads tr[data-lead]').length === 1")
    assert "Danubia" in page.inner_text("#leads")
    page.select_option("#f-source", "")
    page.wait_for_function("document.querySelectorAll('#leads tr[data-lead]').length === 2")

    # qualify the web lead, then convert it: a new company, unless it looks like a customer
    page.click("#leads tr:has-text('Fjord Aqua') a")
    page.wait_for_selector("#lead:not([hidden])")
    page.fill("#q-budget", "25000")
    page.select_option("#q-status", "qualified")
    page.click("#q-save")
    page.wait_for_selector("#lead[data-status='qualified']")
    page.fill("#c-amount", "24000")
    page.click("#c-go")
    page.wait_for_selector("#converted:not([hidden]), #duplicates:not([hidden])")
    if page.is_visible("#duplicates"):
        page.click("#new-customer button")
    page.wait_for_selector("#converted:not([hidden])")
    text = page.inner_text("#converted")
    deal = re.search(r"OP-\d{4}-\d{6}", text)
    assert deal, text
    opportunity = sales.call("GET", f"/opportunities/{deal.group()}")
    assert opportunity["amount_cents"] == 2_400_000
    assert opportunity["source"] == "web_form"

    # a company that is a customer already: the page asks, and the deal goes to the one chosen
    twin = sales.call(
        "POST",
        "/leads",
        {
            "company": "Nordic Hydraulics AB",
            "email": "orders@nordhyd.example",
            "contact_name": "Lars",
        },
        status=201,
    )
    page.goto(f"{plant.central.url}/leads#{twin['number']}")
    page.wait_for_selector(f"#lead-title:has-text('{twin['number']}')")
    page.fill("#c-amount", "5000")
    page.click("#c-go")
    page.wait_for_selector("#duplicates:not([hidden])")
    assert "NORDHYD" in page.inner_text("#candidates")
    page.click("[data-attach='NORDHYD']")
    page.wait_for_selector("#converted:not([hidden])")
    assert sales.call("GET", f"/leads/{twin['number']}")["customer"] == "NORDHYD"


def quote(plant: Plant, page: Any, sales: Api, admin: Api) -> None:
    page.goto(f"{plant.central.url}/quotes")
    page.wait_for_selector("#quotes p.muted, #quotes table")
    page.fill("#n-customer", "POLTECH")
    page.fill("#n-lines tr:nth-child(1) .l-item", "VLV-BALL-25")
    page.fill("#n-lines tr:nth-child(1) .l-qty", "10")
    page.fill("#n-lines tr:nth-child(1) .l-discount", "5")
    page.click("#n-add")
    page.fill("#n-lines tr:nth-child(2) .l-item", "VLV-GATE-80")
    page.fill("#n-lines tr:nth-child(2) .l-qty", "2")
    page.fill("#n-lines tr:nth-child(2) .l-discount", "15")  # beyond the 10 % limit
    page.click("#n-go")
    page.wait_for_url(re.compile(r"/quotes/QT-"))
    number = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#lines tbody tr >> nth=1")
    assert page.inner_text("#status dd") == "draft"
    assert "2,679.50" in page.inner_text("#net") or "2679.50" in page.inner_text("#net")

    def step(name: str, status: str) -> None:
        page.click(f"[data-step='{name}']")
        page.wait_for_function(
            "s => document.querySelector('#status dd').textContent === s", arg=status
        )

    step("submit", "pending approval")
    page.click("[data-step='approve']")  # sales may not: the API's refusal shows
    page.wait_for_selector("#message.error:has-text('forbidden')")
    assert "admin" in page.inner_text("#message")
    admin.call("POST", f"/quotes/{number}/approve")
    page.reload()
    page.wait_for_selector("[data-step='send']")
    assert "approved by ada" in page.inner_text("#approval")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "quote.png"), full_page=True)
    step("send", "sent")

    with page.expect_popup() as popup:
        page.click("#pdf")
    popup.value.wait_for_url(re.compile(r"^blob:"))
    popup.value.close()

    page.click("[data-step='accept']")
    page.check("#a-confirm")
    page.click("#a-go")
    page.wait_for_selector("#order:not([hidden])")
    order = page.get_attribute("#order", "data-order") or ""
    assert order.startswith("SO-")
    assert page.inner_text("#status dd") == "accepted"
    assert "confirmed" in page.inner_text("#message")
    assert sales.call("GET", f"/sales-orders/{order}")["status"] == "confirmed"
    page.click("#order a")  # to the customer 360, where the order is listed
    page.wait_for_selector(f'#orders tr[data-order="{order}"]')

    page.goto(f"{plant.central.url}/quotes?customer=POLTECH")
    page.wait_for_selector(f'#quotes tr[data-quote="{number}"]')
    assert "accepted" in page.inner_text(f'#quotes tr[data-quote="{number}"]')


def account(plant: Plant, page: Any, sales: Api) -> None:
    boss = sales.call(
        "POST",
        "/customers/POLTECH/contacts",
        {"name": "Anna Nowak", "role": "CEO", "buying_role": "decision_maker"},
        status=201,
    )
    sales.call(
        "POST",
        "/customers/POLTECH/contacts",
        {"name": "Piotr Zieliński", "buying_role": "purchasing", "reports_to": boss["id"]},
        status=201,
    )
    sales.call("PUT", "/customers/POLTECH/tags", {"tags": ["key account"]})

    page.goto(f"{plant.central.url}/customers/POLTECH")
    below = f'#decision-map li[data-contact="{boss["id"]}"] ul li'
    page.wait_for_selector(below)
    assert "Piotr Zieliński" in page.inner_text(below)
    assert "decision maker" in page.inner_text("#decision-map")
    assert page.inner_text("#decision-missing") == ""  # both roles are there now
    tagged = '#history tr[data-action="tagged"]'
    page.wait_for_selector(tagged)
    assert "key account" in page.inner_text(tagged) and "sam" in page.inner_text(tagged)
