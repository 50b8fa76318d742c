"""The customers pages in headless Chromium on a real seeded central: a customer found by
search, a new one made through the duplicate prompt, its record, contacts, addresses and
tags edited on its 360, and an admin merging the duplicate into the original."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_customer_pages import (
    SHOTS,
    Plant,
    floorsync,
    seeded_plant,  # noqa: F401 (the plant fixture)
    sign_in,
)
from tests.integration.test_sales_pages import Api

pytestmark = [pytest.mark.services, pytest.mark.slow]
TIMEOUT = 10_000


def test_customers_are_found_made_edited_and_merged_on_the_pages(plant: Plant, page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(TIMEOUT)
    sales = Api(plant, plant.token)
    admin_token = floorsync(
        "floorsync", "central", "user", "add", "ada", "--roles", "admin", "--database", plant.db
    ).strip()

    find_and_make(plant, page)
    edit(page, sales)
    merge(plant, page, sales, admin_token)
    assert errors == []


def rows(page: Any, selector: str) -> list[str]:
    found: list[str] = page.eval_on_selector_all(selector, "rs => rs.map(r => r.dataset.customer)")
    return found


def find_and_make(plant: Plant, page: Any) -> None:
    sign_in(page, f"{plant.central.url}/customers", plant.token)
    page.wait_for_selector("#customers tr[data-customer]")
    assert len(rows(page, "#customers tr[data-customer]")) == 8  # the seed's customers
    page.fill("#q", "hydraul")  # a word of "Nordic Hydraulics AB"
    page.wait_for_function("document.querySelectorAll('#customers tr[data-customer]').length === 1")
    assert rows(page, "#customers tr[data-customer]") == ["NORDHYD"]

    # the same company again: the page asks, and "Create anyway" makes it
    page.fill("#n-code", "NORDHYD2")
    page.fill("#n-name", "Nordic Hydraulics")
    page.fill("#n-territory", "SE")
    page.select_option("#n-tier", "B")
    page.click("#n-go")
    page.wait_for_selector("#duplicates:not([hidden])")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "customers.png"), full_page=True)
    candidate = page.inner_text("#candidates tr[data-candidate='NORDHYD']")
    assert "same name" in candidate
    page.click("#n-anyway")
    page.wait_for_url(re.compile(r"/customers/NORDHYD2$"))
    page.wait_for_selector("#head .title:has-text('Nordic Hydraulics')")


def edit(page: Any, sales: Api) -> None:
    # the record: one field changed, the others kept (PUT sends them all back)
    page.click("#edit-open")
    assert page.input_value("#e-territory") == "SE"
    page.fill("#e-phone", "+46 31 555 9999")
    page.click("#e-go")
    page.wait_for_selector("#message:has-text('NORDHYD2 saved')")
    page.reload()
    page.wait_for_selector("#head:has-text('+46 31 555 9999')")
    changed = page.inner_text('#history tr[data-action="updated"]')
    assert "phone" in changed and "+46 31 555 9999" in changed
    saved = sales.call("GET", "/customers/NORDHYD2")
    assert (saved["territory"], saved["tier"], saved["phone"]) == ("SE", "B", "+46 31 555 9999")

    # a bad save says why and changes nothing
    page.click("#edit-open")
    page.fill("#e-owner", "nobody")
    page.click("#e-go")
    page.wait_for_selector("#message.error:has-text('unknown_user')")
    assert sales.call("GET", "/customers/NORDHYD2")["owner"] is None
    page.click("#e-cancel")

    # contacts: one added with a buying role, another reporting to her, then edited
    page.fill("#k-name", "Sara Lind")
    page.select_option("#k-buying_role", "decision_maker")
    page.click("#k-go")
    page.wait_for_selector("#decision-map li:has-text('Sara Lind')")
    assert "decision maker" in page.inner_text("#decision-map li:has-text('Sara Lind')")
    page.fill("#k-name", "Nils")
    page.select_option("#k-reports_to", label="Sara Lind")
    page.click("#k-go")
    page.wait_for_selector("#contacts tr:has-text('Nils')")
    page.click("#contacts tr:has-text('Nils') button[data-edit-contact]")
    assert page.input_value("#k-name") == "Nils"
    page.fill("#k-name", "Nils Ek")
    page.select_option("#k-buying_role", "purchasing")
    page.click("#k-go")
    page.wait_for_selector("#decision-map li:has-text('Sara Lind') ul li:has-text('Nils Ek')")
    assert page.inner_text("#decision-missing") == ""  # a decision maker and purchasing now

    # addresses: one added, then deleted
    page.select_option("#a-kind", "shipping")
    page.fill("#a-street", "Hamnvägen 14")
    page.fill("#a-city", "Göteborg")
    page.fill("#a-country", "se")
    page.click("#a-go")
    page.wait_for_selector("#addresses tr:has-text('Hamnvägen 14')")
    assert "SE" in page.inner_text("#addresses tr:has-text('Hamnvägen 14')")
    page.click("#addresses tr:has-text('Hamnvägen 14') button[data-delete-address]")
    page.wait_for_selector("#addresses p.muted")
    assert sales.call("GET", "/customers/NORDHYD2/addresses")["items"] == []

    # tags set by hand
    page.click("#edit-open")
    page.fill("#t-tags", "key account, fair 2026")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "customer-edit.png"), full_page=True)
    page.click("#t-go")
    page.wait_for_selector("#tags .tag:has-text('key account')")
    assert sales.call("GET", "/customers/NORDHYD2/tags")["manual"] == ["fair 2026", "key account"]


def merge(plant: Plant, page: Any, sales: Api, admin_token: str) -> None:
    assert page.is_hidden("#merge-panel")  # for admins only
    page.click("#signout")
    page.fill("#token", admin_token)
    page.press("#token", "Enter")
    page.wait_for_selector("#app:not([hidden])")  # the token exchanged for a session
    page.goto(f"{plant.central.url}/customers/NORDHYD")
    page.click("#merge-candidates [data-merge-from='NORDHYD2']")
    page.wait_for_selector("#merge-confirm:not([hidden])")
    assert "NORDHYD2 (Nordic Hydraulics)" in page.inner_text("#m-what")
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "customer-merge.png"), full_page=True)
    page.click("#m-yes")
    page.wait_for_selector("#message:has-text('NORDHYD2 merged into NORDHYD')")
    page.wait_for_selector("#contacts tr:has-text('Nils Ek')")  # its contacts moved here
    sales.call("GET", "/customers/NORDHYD2", status=404)
    assert "merged" in page.inner_text("#history")
