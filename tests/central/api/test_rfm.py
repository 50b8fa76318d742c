"""RFM through the API: runs on demand, segments, scores, changes, the repurchase list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from central.aftersales import rfm
from central.db import writing
from central.db.aftersales import service_tickets
from central.db.domain import customers
from tests.central.aftersales.rfm_book import (
    AS_OF,
    CHANGED,
    EXPECTED,
    Book,
    ago,
    fill,
    juliet_returns,
)
from tests.central.api.conftest import Api

LATER = AS_OF + timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def ticket(engine: Engine, number: str, code: str, status: str, priority: str = "normal") -> None:
    with writing(engine).begin() as conn:
        customer_id = conn.execute(
            select(customers.c.id).where(customers.c.code == code)
        ).scalar_one()
        conn.execute(
            insert(service_tickets).values(
                number=number,
                customer_id=customer_id,
                kind="complaint",
                channel="phone",
                priority=priority,
                status=status,
                subject=f"{number} subject",
                opened_at=ago(10),
                response_due=ago(9),
                resolution_due=ago(5),
            )
        )


@pytest.fixture
def book(api: Api, engine: Engine) -> Book:
    with writing(engine).begin() as conn:
        book = fill(conn)
    ticket(engine, "TK-1", "GOLF", "open", "high")
    ticket(engine, "TK-2", "GOLF", "waiting")
    ticket(engine, "TK-3", "GOLF", "resolved")
    ticket(engine, "TK-4", "HOTEL", "closed")
    return book


def run(api: Api, as_of: datetime = AS_OF, **body: Any) -> dict[str, Any]:
    summary: dict[str, Any] = api.ok(
        api.post("/rfm-runs", {"as_of": iso(as_of), **body}, user="sales"), 201
    )
    return summary


def second_run(api: Api, engine: Engine, book: Book) -> dict[str, Any]:
    """JULIET orders again; the run an hour later moves four customers (see rfm_book)."""
    with writing(engine).begin() as conn:
        book.conn = conn
        juliet_returns(book)
    return run(api, LATER)


def test_a_run_on_demand_answers_its_summary(api: Api, book: Book) -> None:
    summary = run(api)

    assert {k: summary[k] for k in ("as_of", "window_days", "trigger", "customers", "changed")} == {
        "as_of": iso(AS_OF),
        "window_days": 365,  # rfm.window_days
        "trigger": "on_demand",
        "customers": 10,
        "changed": 10,
    }
    assert summary["segments"]["Champions"] == 2 and sum(summary["segments"].values()) == 10
    runs = api.ok(api.get("/rfm-runs", user="planner"))
    assert [r["id"] for r in runs["items"]] == [summary["id"]]
    assert runs["items"][0]["trigger"] == "on_demand"


def test_a_run_with_its_own_window_and_now_by_default(api: Api, book: Book) -> None:
    mine = run(api, window_days=30)
    now = api.ok(api.post("/rfm-runs", user="admin"), 201)  # no body: now, configured window

    assert mine["window_days"] == 30 and now["window_days"] == 365
    assert datetime.fromisoformat(now["as_of"]) > AS_OF  # the clock says 2026-11 or later
    runs = api.ok(api.get("/rfm-runs", limit=1))
    assert [r["id"] for r in runs["items"]] == [now["id"]] and runs["next"] == now["id"]
    older = api.ok(api.get("/rfm-runs", after=runs["next"]))
    assert [r["id"] for r in older["items"]] == [mine["id"]] and older["next"] is None


def test_a_retried_run_is_answered_once(api: Api, book: Book) -> None:
    body = {"as_of": iso(AS_OF)}
    first = api.ok(api.post("/rfm-runs", body, user="sales", key="rfm-1"), 201)
    again = api.ok(api.post("/rfm-runs", body, user="sales", key="rfm-1"), 201)
    assert again == first
    assert len(api.ok(api.get("/rfm-runs"))["items"]) == 1


def test_segments_give_rule_description_action_and_customers(api: Api, book: Book) -> None:
    empty = api.ok(api.get("/rfm/segments", user="service"))
    assert empty["last_run"] is None and {s["customers"] for s in empty["items"]} == {0}

    summary = run(api)
    found = api.ok(api.get("/rfm/segments", user="service"))

    assert found["last_run"]["id"] == summary["id"]
    assert [s["name"] for s in found["items"]] == list(rfm.NAMES)  # in the order applied
    by_name = {s["name"]: s for s in found["items"]}
    assert by_name["At Risk"] == {
        "name": "At Risk",
        "r": [1, 2],
        "fm": [3, 4],
        "description": rfm.SEGMENTS[8].description,
        "action": rfm.SEGMENTS[8].action,
        "customers": 1,
    }
    assert {name: s["customers"] for name, s in by_name.items()} == summary["segments"]


def test_scored_customers_by_segment_a_page_at_a_time(api: Api, book: Book) -> None:
    summary = run(api)

    everyone = api.ok(api.get("/rfm/customers", limit=500))
    assert [c["customer"] for c in everyone["items"]] == sorted(EXPECTED)
    ace = everyone["items"][0]
    assert ace == {
        "customer": "ACE",
        "name": "Ace Ltd",
        "segment": "Champions",
        "since": iso(AS_OF),
        "r": 5,
        "f": 5,
        "m": 5,
        "recency_days": 5,
        "frequency": 4,
        "monetary_cents": 400_000,
        "run": summary["id"],
    }
    page = api.ok(api.get("/rfm/customers", segment="Lost", limit=1))
    assert [c["customer"] for c in page["items"]] == ["INDIA"] and page["next"] == "INDIA"
    rest = api.ok(api.get("/rfm/customers", segment="Lost", after="INDIA"))
    assert [c["customer"] for c in rest["items"]] == ["JULIET"] and rest["next"] is None
    quoted = api.ok(api.get("/rfm/customers", segment="Can't Lose Them"))
    assert [c["customer"] for c in quoted["items"]] == ["GOLF"]


def test_changes_of_the_last_run_of_a_run_and_since(api: Api, engine: Engine, book: Book) -> None:
    assert api.ok(api.get("/rfm/changes")) == {"items": [], "next": None}  # no run yet
    first = run(api)
    second = second_run(api, engine, book)
    assert second["changed"] == 4

    last = api.ok(api.get("/rfm/changes", user="planner"))
    assert {c["customer"]: (c["previous"], c["segment"]) for c in last["items"]} == CHANGED
    assert {(c["run"], c["at"]) for c in last["items"]} == {(second["id"], iso(LATER))}
    ids = [c["id"] for c in last["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert set(last["items"][0]) == {"id", "run", "at", "customer", "name", "previous", "segment"}

    of_first = api.ok(api.get("/rfm/changes", run=first["id"], limit=500))
    assert {c["customer"]: c["previous"] for c in of_first["items"]} == dict.fromkeys(EXPECTED)
    since = api.ok(api.get("/rfm/changes", since=iso(AS_OF + timedelta(minutes=30))))
    assert {c["customer"] for c in since["items"]} == set(CHANGED)
    everything = api.ok(api.get("/rfm/changes", since=iso(AS_OF), limit=3))
    assert len(everything["items"]) == 3 and everything["next"] == everything["items"][-1]["id"]
    rest = api.ok(api.get("/rfm/changes", since=iso(AS_OF), after=everything["next"], limit=500))
    assert len(rest["items"]) == 14 - 3 and rest["next"] is None


def test_the_repurchase_list_has_last_orders_and_open_tickets(api: Api, book: Book) -> None:
    run(api)

    found = api.ok(api.get("/rfm/repurchase", user="sales"))

    # At Risk, Can't Lose Them, About to Sleep, Need Attention; most valuable first
    assert [(c["customer"], c["segment"]) for c in found["items"]] == [
        ("GOLF", "Can't Lose Them"),
        ("HOTEL", "At Risk"),
        ("FOX", "Need Attention"),
    ]
    golf = found["items"][0]
    assert (golf["r"], golf["f"], golf["m"], golf["monetary_cents"]) == (2, 4, 5, 300_000)
    assert [(o["date"], o["value_cents"], o["status"]) for o in golf["last_orders"]] == [
        (iso(ago(200)), 100_000, "confirmed"),
        (iso(ago(250)), 100_000, "confirmed"),
        (iso(ago(300)), 100_000, "confirmed"),
    ]
    assert all(o["number"].startswith("SO-") for o in golf["last_orders"])
    assert [(t["number"], t["priority"], t["status"]) for t in golf["open_tickets"]] == [
        ("TK-1", "high", "open"),
        ("TK-2", "normal", "waiting"),
    ]
    assert golf["open_tickets"][0]["subject"] == "TK-1 subject"
    hotel = found["items"][1]
    assert hotel["open_tickets"] == []  # TK-4 is closed
    assert [(o["value_cents"], o["status"]) for o in hotel["last_orders"]] == [
        (30_000, "held"),
        (20_000, "confirmed"),
    ]


def test_the_repurchase_list_of_chosen_segments_a_page_at_a_time(api: Api, book: Book) -> None:
    run(api)
    segments = ["Lost", "Champions"]

    page = api.ok(api.get("/rfm/repurchase", segment=segments, limit=2))
    assert [c["customer"] for c in page["items"]] == ["ACE", "BOLT"] and page["next"] == "BOLT"
    # ACE's last orders include the draft and the cancelled one RFM does not count
    assert [o["status"] for o in page["items"][0]["last_orders"]] == [
        "draft",
        "cancelled",
        "confirmed",
    ]
    rest = api.ok(api.get("/rfm/repurchase", segment=segments, after="BOLT", limit=2))
    # INDIA and JULIET both have 0 cents: by code
    assert [c["customer"] for c in rest["items"]] == ["INDIA", "JULIET"]
    assert rest["next"] is None  # nothing after JULIET
    assert api.ok(api.get("/rfm/repurchase", segment=segments, after="JULIET"))["items"] == []


def test_a_customers_scores_and_segment_history(api: Api, engine: Engine, book: Book) -> None:
    assert api.ok(api.get("/customers/GOLF/rfm")) == {
        "customer": "GOLF",
        "current": None,
        "history": [],
    }
    first = run(api)
    second = second_run(api, engine, book)

    golf = api.ok(api.get("/customers/GOLF/rfm", user="service"))

    assert golf["current"]["segment"] == "At Risk" and golf["current"]["since"] == iso(LATER)
    assert golf["current"]["run"] == second["id"]
    assert golf["history"] == [
        {
            "run": second["id"],
            "at": iso(LATER),
            "previous": "Can't Lose Them",
            "segment": "At Risk",
        },
        {"run": first["id"], "at": iso(AS_OF), "previous": None, "segment": "Can't Lose Them"},
    ]
    never = api.ok(api.get("/customers/NEVER/rfm"))
    assert never["current"] is None and never["history"] == []


@pytest.mark.parametrize(
    ("user", "status"), [("planner", 403), ("service", 403), ("supervisor", 403), (None, 401)]
)
def test_only_sales_run_rfm(shared_api: Api, user: str | None, status: int) -> None:
    found = error(shared_api.post("/rfm-runs", {}, user=user), status)
    if status == 403:
        assert found["details"]["roles"] == ["sales", "admin"]


@pytest.mark.parametrize(
    "path",
    ["/rfm-runs", "/rfm/segments", "/rfm/customers", "/rfm/changes", "/rfm/repurchase"],
)
def test_reading_needs_a_token(shared_api: Api, path: str) -> None:
    error(shared_api.get(path, user=None), 401)


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        ({"window_days": 0}, "invalid_request", "body.window_days"),
        ({"window_days": 3651}, "invalid_request", "body.window_days"),
        ({"as_of": "2026-06-30T12:00:00"}, "invalid_request", "body.as_of"),  # no offset
        ({"as_of": "tomorrow"}, "invalid_request", "body.as_of"),
        ({"windows": 30}, "invalid_request", "body.windows"),
        ({"as_of": "2999-01-01T00:00:00Z"}, "as_of_in_future", None),
        ({"as_of": "0001-01-01T00:00:00Z"}, "invalid_request", "body.as_of"),
    ],
)
def test_a_bad_run_request_is_refused(
    shared_api: Api, body: dict[str, Any], code: str, where: str | None
) -> None:
    found = error(shared_api.post("/rfm-runs", body, user="sales"), 422)
    assert found["code"] == code
    if where is None:
        assert found["details"] == {"field": "as_of"}
    else:
        assert found["details"][0]["where"] == where


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/rfm/customers", {"segment": "Whales"}, 422, "unknown_segment"),
        ("/rfm/repurchase", {"segment": ["At Risk", "Whales"]}, 422, "unknown_segment"),
        ("/rfm/repurchase", {"after": "NOBODY"}, 422, "unknown_after"),
        ("/rfm/changes", {"since": "2026-06-30T12:00:00Z", "run": 1}, 422, "since_or_run"),
        ("/rfm/changes", {"since": "2026-06-30T12:00:00"}, 422, "invalid_request"),
        ("/rfm/changes", {"run": 0}, 422, "invalid_request"),
        ("/rfm/changes", {"run": 999}, 404, "not_found"),
        ("/rfm/changes", {"run": 2**64}, 422, "invalid_request"),
        ("/rfm-runs", {"after": 2**64}, 422, "invalid_request"),
        ("/rfm-runs", {"after": "x"}, 422, "invalid_request"),
        ("/customers/NOBODY/rfm", {}, 404, "not_found"),
    ],
)
def test_bad_reads_are_refused(
    shared_api: Api, path: str, params: dict[str, Any], status: int, code: str
) -> None:
    found = error(shared_api.get(path, user="planner", **params), status)
    assert found["code"] == code
    if code == "unknown_segment":
        assert "Whales" in found["message"] and "Can't Lose Them" in found["message"]


def test_a_run_dated_before_the_last_one_is_refused_and_changes_nothing(
    api: Api, book: Book
) -> None:
    run(api)
    before = api.ok(api.get("/rfm/customers", limit=500))
    refused = api.post("/rfm-runs", {"as_of": iso(AS_OF - timedelta(days=90))}, user="sales")
    assert error(refused, 422)["code"] == "as_of_before_last_run"
    assert api.ok(api.get("/rfm/customers", limit=500)) == before
    assert len(api.ok(api.get("/rfm-runs"))["items"]) == 1
