"""Keyset pages: every row once across the pages, filters, and the limits of ``limit``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from central.db.domain import items
from central.orders import inventory
from tests.central.api.conftest import Api, plant


def every_page(api: Api, path: str, limit: int, **params: Any) -> list[list[Any]]:
    """The pages of a list, following ``next`` until it is null."""
    pages, after = [], None
    while True:
        query = {"limit": limit, **params, **({"after": after} if after is not None else {})}
        body = api.ok(api.get(path, **query))
        pages.append(body["items"])
        after = body["next"]
        if after is None:
            return pages
        assert len(pages) < 100, "pages do not end"


def keys(pages: list[list[Any]], key: Callable[[Any], Any]) -> list[Any]:
    return [key(row) for page in pages for row in page]


def test_pages_return_every_row_once(api: Api, engine: Engine) -> None:
    plant(api)
    for i in range(7):
        body = {"code": f"PART-{i}", "description": "part", "kind": "buy"}
        api.ok(api.post("/items", body, user="planner"), 201)
    numbers = []
    for i in range(5):
        order = {
            "customer": "ACME",
            "type": "standard",
            "due_date": f"2026-12-0{i + 1}",
            "lines": [{"item": "FRAME", "quantity": 1}],
        }
        numbers.append(api.ok(api.post("/sales-orders", order, user="sales"), 201)["number"])
    for number in numbers[:3]:
        api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))
    with engine.begin() as conn:
        moves = [
            inventory.Move(item_id, f"L-{lot}", 1.0, "purchase", "PO-1", to_location=place)
            for item_id in conn.execute(select(items.c.id)).scalars()
            for lot in range(2)
            for place in ("STORES", "FG")
        ]
        inventory.book(conn, moves, datetime(2026, 11, 23, tzinfo=UTC))

    pages = every_page(api, "/items", 3)
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    codes = keys(pages, lambda r: r["code"])
    assert codes == sorted(codes) and len(set(codes)) == 10

    pages = every_page(api, "/sales-orders", 2)
    assert keys(pages, lambda r: r["number"]) == numbers
    assert [len(p) for p in pages] == [2, 2, 1]
    # a full last page: its next page is empty and says so
    assert [len(p) for p in every_page(api, "/sales-orders", 5)] == [5]
    # filters
    confirmed = every_page(api, "/sales-orders", 1, status="confirmed")
    assert len(keys(confirmed, lambda r: r["number"])) == 3
    both = every_page(api, "/sales-orders", 2, status=["draft", "confirmed"])
    assert keys(both, lambda r: r["number"]) == numbers
    due = every_page(api, "/sales-orders", 1, due_after="2026-12-02", due_before="2026-12-04")
    assert keys(due, lambda r: r["due_date"]) == ["2026-12-02", "2026-12-03", "2026-12-04"]
    assert every_page(api, "/sales-orders", 5, customer="NOBODY") == [[]]
    assert every_page(api, "/sales-orders", 5, type="repair") == [[]]
    made = keys(every_page(api, "/production-orders", 2, status="planned"), lambda r: r["item"])
    assert made == ["FRAME"] * 3
    for_first = every_page(api, "/production-orders", 5, sales_order=numbers[0])
    assert keys(for_first, lambda r: r["sales_order"]) == [numbers[0]]

    # stock (an opaque cursor over item, lot and location) and the moves ledger
    stock = every_page(api, "/stock", 7)
    places = keys(stock, lambda r: (r["item"], r["lot"], r["location"]))
    assert len(places) == len(set(places)) == 40
    assert len(keys(every_page(api, "/stock", 3, item="BOLT"), lambda r: r["lot"])) == 4
    assert len(keys(every_page(api, "/stock", 4, location="FG", lot="L-1"), id)) == 10
    ledger = keys(every_page(api, "/stock-moves", 6), lambda r: r["id"])
    assert ledger == sorted(ledger) and len(ledger) == 40
    suggestions = every_page(api, "/purchase-suggestions", 1)
    assert [len(p) for p in suggestions] == [1] * len(suggestions)


@pytest.mark.parametrize(
    ("query", "where", "message"),
    [
        ("limit=0", "query.limit", "Input should be greater than or equal to 1"),
        ("limit=501", "query.limit", "Input should be less than or equal to 500"),
        ("status=lost", "query.status.0", "Input should be 'draft'"),
        ("due_before=soon", "query.due_before", "Input should be a valid date"),
    ],
)
def test_bad_list_queries_name_the_parameter(
    shared_api: Api, query: str, where: str, message: str
) -> None:
    response = shared_api.client.get(
        f"/api/v1/sales-orders?{query}", headers=shared_api.headers("admin", None)
    )

    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"{where}: {message}")


@pytest.mark.parametrize(
    ("path", "after"), [("/stock", "not-a-cursor"), ("/stock", "WzFd"), ("/stock-moves", "x")]
)
def test_a_cursor_not_given_out_is_422(shared_api: Api, path: str, after: str) -> None:
    response = shared_api.get(path, after=after)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["where"] == "query.after"
