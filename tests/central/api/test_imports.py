"""Imports and exports through the API: upload, preview, run, progress; who may; bad files;
list views as CSV and Excel, with money columns only for sales and admin."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx
import orjson
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, update

from central.crm.import_sample import customers_csv
from central.db.crm import import_jobs
from tests.central.api.conftest import Api, plant

GOOD_AND_BAD = "Kundennummer;Firma;E-Mail\nK1;One AG;a@one.de\nK2;;\nK3;Three KG;x\nK4;Four;\n"


def upload(
    api: Api,
    data: bytes | str,
    kind: str = "customers",
    *,
    user: str = "sales",
    filename: str = "kunden.csv",
    **form: str,
) -> httpx.Response:
    content = data.encode() if isinstance(data, str) else data
    return api.client.post(
        "/api/v1/imports",
        files={"file": (filename, content, "text/csv")},
        data={"kind": kind, **form},
        headers=api.headers(user, None),
    )


def finished(api: Api, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job = api.ok(api.get(f"/imports/{job_id}"))
        if job["status"] != "running":
            return job
        assert time.monotonic() < deadline, "the import does not end"
        time.sleep(0.05)


def test_upload_preview_run_and_progress(api: Api) -> None:
    preview = api.ok(upload(api, GOOD_AND_BAD), 201)
    assert preview["status"] == "previewed"
    assert preview["mapping"] == {"Kundennummer": "code", "Firma": "name", "E-Mail": "email"}
    assert preview["columns"] == ["Kundennummer", "Firma", "E-Mail"]
    assert {"name": "code", "required": True} in preview["fields"]
    assert (preview["total"], preview["good"], preview["bad"]) == (4, 2, 2)
    assert [r["code"] for r in preview["rows"]] == ["K1", "K4"]
    assert preview["errors"]["items"] == [
        {"row": 3, "field": "name", "message": "required"},
        {"row": 4, "field": "email", "message": "'x' is not an e-mail address"},
    ]
    job_id = preview["id"]
    assert api.ok(api.get("/customers"))["items"] == []

    refused = api.post(f"/imports/{job_id}/run", user="sales")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "bad_rows"
    assert api.ok(api.get("/customers"))["items"] == []

    started = api.ok(
        api.post(f"/imports/{job_id}/run", {"only_good_rows": True}, user="sales"), 202
    )
    assert started["status"] in ("running", "done")
    job = finished(api, job_id)
    assert (job["status"], job["done"], job["total"], job["imported"]) == ("done", 4, 4, 2)
    assert [c["code"] for c in api.ok(api.get("/customers"))["items"]] == ["K1", "K4"]

    page = api.ok(api.get(f"/imports/{job_id}", after=1, limit=1))
    assert page["errors"] == {
        "items": [{"row": 4, "field": "email", "message": "'x' is not an e-mail address"}],
        "next": None,
    }
    assert page["error_count"] == 2
    listed = api.ok(api.get("/imports"))["items"]
    assert [j["id"] for j in listed] == [job_id] and "errors" not in listed[0]


def test_a_mapping_given_and_only_good_rows_chosen_at_upload(api: Api) -> None:
    mapping = orjson.dumps({"Kundennummer": "code", "Firma": "name", "E-Mail": None}).decode()
    preview = api.ok(upload(api, GOOD_AND_BAD, mapping=mapping, only_good_rows="true"), 201)
    assert preview["mapping"] == {"Kundennummer": "code", "Firma": "name"}
    assert (preview["good"], preview["bad"]) == (3, 1)
    api.ok(api.post(f"/imports/{preview['id']}/run", user="sales"), 202)
    assert finished(api, preview["id"])["imported"] == 3


def test_a_thousand_generated_customers_import(api: Api) -> None:
    preview = api.ok(upload(api, customers_csv(1000)), 201)
    assert (preview["good"], preview["bad"]) == (1000, 0)
    api.ok(api.post(f"/imports/{preview['id']}/run", user="sales"), 202)
    assert finished(api, preview["id"])["imported"] == 1000


def test_items_are_imported_by_planners_and_customers_by_sales(shared_api: Api) -> None:
    api = shared_api
    items = "code,description,kind\nX1,Thing,buy\n"
    assert upload(api, items, "items", user="sales").status_code == 403
    assert upload(api, GOOD_AND_BAD, user="planner").status_code == 403
    assert upload(api, GOOD_AND_BAD, user="service").status_code == 403
    anonymous = api.client.post("/api/v1/imports", files={"file": ("a.csv", b"x")})
    assert anonymous.status_code == 401
    preview = api.ok(upload(api, items, "items", user="planner"), 201)
    denied = api.post(f"/imports/{preview['id']}/run", user="sales")
    assert denied.status_code == 403 and denied.json()["error"]["details"]["roles"] == [
        "planner",
        "admin",
    ]
    assert api.ok(api.get(f"/imports/{preview['id']}", user="service"))["status"] == "previewed"


@pytest.mark.parametrize(
    ("send", "code"),
    [
        ({"data": b"", "kind": "customers"}, "empty_file"),
        (
            {"data": b"PK\x03\x04garbage", "kind": "customers", "filename": "a.xlsx"},
            "unreadable_file",
        ),
        ({"data": "code\nA\n", "kind": "suppliers"}, "unknown_kind"),
        ({"data": "code\nA\n", "kind": "customers", "mapping": "[1]"}, "invalid_mapping"),
        ({"data": "code\nA\n", "kind": "customers", "mapping": '{"x": "code"}'}, "unknown_column"),
        ({"data": "code\nA\n", "kind": "customers", "only_good_rows": "maybe"}, "invalid_flag"),
    ],
)
def test_bad_files_and_forms_are_422(shared_api: Api, send: dict[str, Any], code: str) -> None:
    answer = upload(shared_api, send.pop("data"), send.pop("kind"), **send)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


def test_an_upload_that_is_not_a_form_is_422(shared_api: Api) -> None:
    answer = shared_api.post("/imports", {"kind": "customers"}, user="sales")
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "not_multipart"
    no_file = shared_api.client.post(
        "/api/v1/imports",
        data={"kind": "customers"},
        files={"other": ("a", b"x")},
        headers=shared_api.headers("sales", None),
    )
    assert no_file.json()["error"]["code"] == "missing_file"


def test_unknown_jobs(shared_api: Api) -> None:
    assert shared_api.get("/imports/999999").status_code == 404
    assert shared_api.post("/imports/999999/run", user="sales").status_code == 404
    assert shared_api.get("/imports/0").status_code == 422


# -- exports ---------------------------------------------------------------------------------


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def xlsx_rows(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def test_exports_in_both_formats_with_prices_only_for_sales(api: Api) -> None:
    plant(api, credit_limit_cents=500_000)
    order = {"customer": "ACME", "type": "standard", "lines": [{"item": "FRAME", "quantity": 2}]}
    number = api.ok(api.post("/sales-orders", order, user="sales"), 201)["number"]
    api.ok(
        api.post("/customers/ACME/contacts", {"name": "Ann", "role": "buyer"}, user="sales"), 201
    )

    customers = csv_rows(api.get("/exports/customers", user="sales"))
    assert customers[0]["code"] == "ACME" and customers[0]["credit_limit_cents"] == "500000"
    hidden = csv_rows(api.get("/exports/customers", user="planner"))
    assert "credit_limit_cents" not in hidden[0] and hidden[0]["name"] == "Acme Pumps"

    items = xlsx_rows(api.get("/exports/items", user="admin", format="xlsx"))
    assert items[0][:2] == ["code", "description"] and "price_cents" in items[0]
    assert [r[0] for r in items[1:]] == ["BOLT", "FRAME", "TUBE"]
    price = items[0].index("price_cents")
    assert items[2][price] == 12_500
    assert (
        "price_cents" not in xlsx_rows(api.get("/exports/items", user="service", format="xlsx"))[0]
    )

    orders = csv_rows(
        api.get("/exports/sales-orders", user="sales", status="draft", customer="ACME")
    )
    assert [(o["number"], o["value_cents"]) for o in orders] == [(number, "25000")]
    assert csv_rows(api.get("/exports/sales-orders", user="sales", status="confirmed")) == []
    sheet = xlsx_rows(api.get("/exports/sales-orders", user="planner", format="xlsx"))
    assert "value_cents" not in sheet[0] and sheet[1][0] == number

    contacts = csv_rows(api.get("/exports/contacts", user="service", customer="ACME"))
    assert [(c["customer"], c["name"], c["role"]) for c in contacts] == [("ACME", "Ann", "buyer")]
    for name in ("opportunities", "quotes"):
        empty = api.get(f"/exports/{name}", user="sales")
        assert empty.status_code == 200 and empty.content.decode("utf-8-sig").startswith("number,")


def test_exports_refuse_unknown_lists_filters_and_formats(shared_api: Api) -> None:
    api = shared_api
    assert api.get("/exports/tickets").status_code == 422
    assert api.get("/exports/items", format="pdf").status_code == 422
    unknown = api.get("/exports/items", status="draft")
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_filter"
    assert api.get("/exports/items", user=None).status_code == 401


def test_an_export_imports_back(api: Api) -> None:
    """The export's headers are the API's field names, which the import maps by themselves."""
    api.ok(upload(api, customers_csv(5)), 201)
    job = api.ok(api.get("/imports"))["items"][0]
    api.ok(api.post(f"/imports/{job['id']}/run", user="sales"), 202)
    finished(api, job["id"])
    exported = api.get("/exports/items", user="admin")  # items: none yet, headers only
    assert exported.status_code == 200
    customers = api.get("/exports/customers", user="admin").content
    preview = api.ok(upload(api, customers, filename="customers.csv"), 201)
    assert preview["mapping"]["code"] == "code" and preview["mapping"]["tier"] == "tier"
    assert preview["bad"] == 5  # they exist now
    assert {e["message"] for e in preview["errors"]["items"]} == {
        f"customer 'K{n:07d}' exists" for n in range(1, 6)
    }


# -- what the reviewer found -----------------------------------------------------------------

FORMULAS = {
    '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
    "+49 30 1234": "'+49 30 1234",
    "-2+3": "'-2+3",
    "@SUM(A1)": "'@SUM(A1)",
    "\tTab": "'\tTab",
    "\rReturn": "'\rReturn",
    "Plain - Pumps": "Plain - Pumps",
}


def test_exported_text_is_never_taken_for_a_formula(api: Api) -> None:
    for n, name in enumerate(FORMULAS):
        body = {"code": f"F{n}", "name": name, "credit_limit_cents": 5_000}
        api.ok(api.post("/customers", body, user="sales"), 201)
    as_csv = csv_rows(api.get("/exports/customers", user="sales"))
    assert [r["name"] for r in as_csv] == list(FORMULAS.values())
    assert {r["credit_limit_cents"] for r in as_csv} == {"5000"}
    as_xlsx = xlsx_rows(api.get("/exports/customers", user="sales", format="xlsx"))
    name_at, limit_at = as_xlsx[0].index("name"), as_xlsx[0].index("credit_limit_cents")
    # (an XML reader turns a carriage return into a line feed)
    assert [r[name_at] for r in as_xlsx[1:]] == [v.replace("\r", "\n") for v in FORMULAS.values()]
    assert {r[limit_at] for r in as_xlsx[1:]} == {5_000}  # numbers stay numbers


def test_hold_reasons_are_exported_only_to_sales(api: Api) -> None:
    plant(api, credit_limit_cents=100_00)
    order = {"customer": "ACME", "type": "standard", "lines": [{"item": "FRAME", "quantity": 1}]}
    number = api.ok(api.post("/sales-orders", order, user="sales"), 201)["number"]
    held = api.ok(api.post(f"/sales-orders/{number}/confirm", user="sales"))
    assert held["status"] == "held"
    for_sales = csv_rows(api.get("/exports/sales-orders", user="sales"))
    assert for_sales[0]["hold_reason"] == held["hold_reason"]
    for user in ("planner", "service"):
        assert "hold_reason" not in csv_rows(api.get("/exports/sales-orders", user=user))[0]
        sheet = xlsx_rows(api.get("/exports/sales-orders", user=user, format="xlsx"))
        assert "hold_reason" not in sheet[0] and sheet[1][0] == number


def test_a_job_another_process_runs_is_not_failed_by_reading_it(api: Api, engine: Engine) -> None:
    job_id = api.ok(upload(api, customers_csv(3)), 201)["id"]
    with engine.begin() as conn:  # another central process claimed it and is writing
        conn.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(status="running"))
    for _ in range(2):
        assert api.ok(api.get(f"/imports/{job_id}"))["status"] == "running"


def test_a_second_import_of_a_kind_waits_for_the_running_one(api: Api, engine: Engine) -> None:
    first = api.ok(upload(api, customers_csv(3)), 201)["id"]
    second = api.ok(upload(api, customers_csv(3)), 201)["id"]
    with engine.begin() as conn:  # the first runs, here or in another central process
        conn.execute(update(import_jobs).where(import_jobs.c.id == first).values(status="running"))
    refused = api.post(f"/imports/{second}/run", user="sales")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "import_running"
    assert api.ok(api.get(f"/imports/{second}"))["status"] == "previewed"
    assert api.ok(api.get("/customers"))["items"] == []


def test_open_orders_of_two_customers_with_one_reference(api: Api) -> None:
    plant(api)
    api.ok(api.post("/customers", {"code": "BETA", "name": "Beta Pumps"}, user="sales"), 201)
    data = "order,customer,item,quantity\nPO-1,ACME,FRAME,1\nPO-1,BETA,BOLT,5\n"
    preview = api.ok(upload(api, data, "open_orders"), 201)
    assert (preview["good"], preview["bad"]) == (2, 0)
    api.ok(api.post(f"/imports/{preview['id']}/run", user="sales"), 202)
    assert finished(api, preview["id"])["imported"] == 2
    orders = csv_rows(api.get("/exports/sales-orders", user="sales"))
    assert sorted((o["customer"], o["customer_reference"]) for o in orders) == [
        ("ACME", "PO-1"),
        ("BETA", "PO-1"),
    ]
