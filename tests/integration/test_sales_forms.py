"""The sales pages' forms in headless Chromium on a real seeded central: a lead added by hand
(refused with the reason first, then shown selected in the list), a draft quote's lines
changed, removed and added with the totals redrawn and an over-limit discount flagged, and a
task added, changed and done on my day."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_customer_pages import (
    SHOTS,
    Plant,
    seeded_plant,  # noqa: F401 (the plant fixture)
    sign_in,
)
from tests.integration.test_sales_pages import Api

pytestmark = [pytest.mark.services, pytest.mark.slow]
TIMEOUT = 10_000


def test_leads_quotes_and_tasks_are_made_and_changed_on_the_pages(plant: Plant, page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TIMEOUT)
    sales = Api(plant, plant.token)

    new_lead(plant, page, sales)
    draft_quote(plant, page, sales)
    tasks(plant, page, sales)
    assert errors == []


def new_lead(plant: Plant, page: Any, sales: Api) -> None:
    sign_in(page, f"{plant.central.url}/leads", plant.token)
    page.wait_for_selector("#leads tr[data-lead]")
    page.select_option("#f-source", "trade_show")  # a filter the new lead would not pass
    page.wait_for_function("document.querySelectorAll('#leads tr[data-lead]').length === 1")

    page.click("#new-lead-open")
    page.fill("#nl-company", "Baltic Valves Sp. z o.o.")
    page.fill("#nl-contact_name", "Ewa Kowalska")
    page.fill("#nl-email", "ewa@balticvalves.example")
    page.fill("#nl-phone", "+48 58 555 0101")
    page.select_option("#nl-source", "referral")
    page.fill("#nl-territory", "PL-North")
    page.fill("#nl-need", "ball valves for a new pumping station")
    page.fill("#nl-message", "met at the Gdańsk fair")
    page.fill("#nl-owner", "nobody")  # no such user: refused, and nothing is kept
    page.click("#nl-go")
    page.wait_for_selector("#nl-error:not([hidden])")
    assert "nobody" in page.inner_text("#nl-error")
    assert page.get_attribute("#nl-owner", "aria-invalid") == "true"
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "lead-new.png"), full_page=True)
    assert len(sales.call("GET", "/leads")["items"]) == 2  # the seed's two

    page.fill("#nl-owner", "")
    page.click("#nl-go")
    page.wait_for_selector("#leads tr.selected:has-text('Baltic Valves')")
    number = page.get_attribute("#leads tr.selected", "data-lead") or ""
    page.wait_for_selector(f"#lead-title:has-text('{number}')")
    assert page.is_hidden("#new-lead-box") and page.input_value("#f-source") == ""
    assert page.input_value("#q-need") == "ball valves for a new pumping station"
    lead = sales.call("GET", f"/leads/{number}")
    assert (lead["source"], lead["status"], lead["territory"]) == ("referral", "new", "PL-North")
    assert (lead["email"], lead["message"]) == (
        "ewa@balticvalves.example",
        "met at the Gdańsk fair",
    )


def cents(list_cents: int, discount_pct: float) -> int:
    """A unit price as the API prices a discount: rounded half up to the cent."""
    unit = Decimal(list_cents) * (100 - Decimal(str(discount_pct))) / 100
    return int(unit.quantize(Decimal(1), ROUND_HALF_UP))


def draft_quote(plant: Plant, page: Any, sales: Api) -> None:
    ball = sales.call("GET", "/items/VLV-BALL-25")["price_cents"]
    agreed = cents(sales.call("GET", "/items/VLV-BALL-50")["price_cents"], 5)  # a price, not a %
    body = {
        "customer": "POLTECH",
        "lines": [
            {"item": "VLV-BALL-25", "quantity": 10, "discount_pct": 5},
            {"item": "VLV-GATE-80", "quantity": 2},
        ],
        "notes": "ex works",
    }
    number = sales.call("POST", "/quotes", body, status=201)["number"]
    page.goto(f"{plant.central.url}/quotes/{number}")
    page.wait_for_selector("#edit-box:not([hidden]) #e-lines tr >> nth=1")
    assert page.input_value("#e-notes") == "ex works"

    # more of the first line at a deeper discount, the second out, a new one at a set price
    page.fill("#e-lines tr:nth-child(1) .l-qty", "12")
    page.fill("#e-lines tr:nth-child(1) .l-discount", "8")
    page.click("#e-lines tr:nth-child(2) .btn-x")
    page.click("#e-add")
    page.fill("#e-lines tr:nth-child(2) .l-item", "VLV-BALL-50")
    page.fill("#e-lines tr:nth-child(2) .l-qty", "3")
    page.fill("#e-lines tr:nth-child(2) .l-price", f"{agreed / 100:.2f}")
    page.fill("#e-valid", (datetime.now() + timedelta(days=60)).date().isoformat())
    before = page.inner_text("#net dd")
    page.click("#e-save")
    net = 12 * cents(ball, 8) + 3 * agreed
    page.wait_for_function("b => document.querySelector('#net dd').textContent !== b", arg=before)
    quote = sales.call("GET", f"/quotes/{number}")
    assert quote["totals"]["net_cents"] == net
    assert page.inner_text("#net dd") == f"{net / 100:,.2f}"
    lines = [(x["item"], x["quantity"], x["discount_pct"]) for x in quote["lines"]]
    assert lines[0] == ("VLV-BALL-25", 12, 8) and lines[1][:2] == ("VLV-BALL-50", 3)
    assert quote["lines"][1]["unit_price_cents"] == agreed and not quote["needs_approval"]
    assert page.locator("#lines tbody tr").count() == 2 and page.is_hidden("#e-approval")

    # beyond the 10 % limit: flagged while typing, and by the API once saved
    page.fill("#e-lines tr:nth-child(1) .l-discount", "15")
    assert "needs approval" in page.inner_text("#e-lines tr:nth-child(1) .over")
    page.click("#e-save")
    page.wait_for_selector("#e-approval:not([hidden])")
    assert "line 1" in page.inner_text("#e-approval")
    assert page.inner_text("#approval dd") == "needed: submit it"
    quote = sales.call("GET", f"/quotes/{number}")
    assert (
        quote["needs_approval"]
        and quote["totals"]["net_cents"] == 12 * cents(ball, 15) + 3 * agreed
    )
    assert quote["lines"][1]["unit_price_cents"] == agreed  # the untouched line kept its price
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "quote-edit.png"), full_page=True)

    page.click("[data-step='submit']")  # no longer a draft: nothing to change here
    page.wait_for_function(
        "() => document.querySelector('#status dd').textContent === 'pending approval'"
    )
    assert page.is_hidden("#edit-box")


def tasks(plant: Plant, page: Any, sales: Api) -> None:
    page.goto(f"{plant.central.url}/my-day")
    page.wait_for_selector("#upcoming p.muted, #upcoming table")
    due = (datetime.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    page.select_option("#t-kind", "visit")
    page.fill("#t-title", "Show the gate valves")
    page.fill("#t-due", due.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#t-customer", "POLTECH")
    page.fill("#t-notes", "bring the catalogue")
    page.click("#t-go")
    row = "#upcoming tr:has-text('Show the gate valves')"
    page.wait_for_selector(row)
    task_id = page.get_attribute(row, "data-task")
    made = sales.call("GET", f"/tasks/{task_id}")
    assert (made["kind"], made["customer"], made["notes"]) == (
        "visit",
        "POLTECH",
        "bring the catalogue",
    )
    assert datetime.fromisoformat(made["due_at"]).timestamp() == due.timestamp()

    page.click(f"tr[data-task='{task_id}'] .t-edit")
    page.fill("#t-title", "Show the gate and ball valves")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "my-day.png"), full_page=True)
    page.click("#t-go")
    page.wait_for_selector(f"tr[data-task='{task_id}']:has-text('gate and ball valves')")
    changed = sales.call("GET", f"/tasks/{task_id}")
    assert (changed["title"], changed["kind"]) == ("Show the gate and ball valves", "visit")

    page.click(f"tr[data-task='{task_id}'] .t-done")
    page.wait_for_selector(f"tr[data-task='{task_id}']", state="detached")
    assert "Done: Show the gate and ball valves" in page.inner_text("#message")
    assert sales.call("GET", f"/tasks/{task_id}")["done_at"] is not None
    still_open = sales.call("GET", "/tasks?owner=sam&open=true")["items"]
    assert task_id not in {str(t["id"]) for t in still_open}
