"""Imports: files read (CSV either delimiter, BOM, XLSX), mappings proposed, every check with
its row number, and jobs that write all good rows or nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import time
from datetime import date
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, insert, select

from central.crm import imports
from central.crm.import_files import Sheet, propose_mapping, read_sheet
from central.crm.import_rows import ItemFacts, Known, check, synonyms
from central.crm.import_sample import customers_csv
from central.crm.names import name_key
from central.db.crm import import_jobs
from central.db.domain import contacts, customers, items, sales_order_lines, sales_orders
from central.orders.errors import Conflict, Invalid
from tests.central.crm.support import NOW, customer, user


def csv_bytes(text: str, *, bom: bool = False, encoding: str = "utf-8") -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet(header: str, *lines: str) -> Sheet:
    return read_sheet(csv_bytes("\n".join((header, *lines)) + "\n"), "f.csv")


def errors_of(kind: str, s: Sheet, known: Known | None = None) -> list[tuple[Any, str, str]]:
    mapping = propose_mapping(s.headers, synonyms(kind))
    checked = check(kind, s, mapping, known or Known())
    return [(e["row"], e["field"], e["message"]) for e in checked.errors]


# -- reading files -------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("bom", [False, True])
def test_csv_with_either_delimiter_and_with_or_without_bom(delimiter: str, bom: bool) -> None:
    text = delimiter.join(["Kundennummer", "Firma"]) + "\r\n"
    text += delimiter.join(["K1", '"Müller, Söhne"']) + "\r\n\r\n"
    text += delimiter.join(["K2", "Zwei"]) + "\r\n"
    read = read_sheet(csv_bytes(text, bom=bom), "kunden.csv")
    assert read.headers == ["Kundennummer", "Firma"]
    # the blank line is skipped, and still counted: row numbers are the spreadsheet's
    assert read.rows == [(2, ["K1", "Müller, Söhne"]), (4, ["K2", "Zwei"])]


def test_csv_in_windows_1252_is_read_too() -> None:
    read = read_sheet(csv_bytes("code;name\nK1;Köln AG\n", encoding="cp1252"), "f.csv")
    assert read.rows == [(2, ["K1", "Köln AG"])]


def test_xlsx_cells_read_as_the_text_a_csv_would_hold() -> None:
    data = xlsx_bytes(
        [
            ["Item No", "Description", "Price cents", "Due"],
            [1001, "Frame", 12500.0, date(2026, 12, 31)],
            [None, None, None, None],
            ["B-2", "Bolt", 10, None],
        ]
    )
    read = read_sheet(data, "items.xlsx")
    assert read.headers == ["Item No", "Description", "Price cents", "Due"]
    assert read.rows == [
        (2, ["1001", "Frame", "12500", "2026-12-31"]),
        (4, ["B-2", "Bolt", "10", ""]),
    ]


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "f.csv", "empty_file"),
        (b"\n\n", "f.csv", "empty_file"),
        (b"PK\x03\x04 not really a zip", "f.xlsx", "unreadable_file"),
    ],
)
def test_files_that_cannot_be_read_are_refused(data: bytes, name: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        read_sheet(data, name)
    assert refused.value.code == code


def test_headers_blank_or_repeated_get_names_of_their_own() -> None:
    assert sheet("code;;code;name").headers == ["code", "column 2", "code (3)", "name"]


# -- mapping proposals -----------------------------------------------------------------------


def test_mapping_proposed_from_headers_and_synonyms() -> None:
    headers = ["Customer No", "Company", "VAT ID", "E-mail", "Telefon", "Notes", "Kundennummer"]
    assert propose_mapping(headers, synonyms("customers")) == {
        "Customer No": "code",
        "Company": "name",
        "VAT ID": "tax_id",
        "E-mail": "email",
        "Telefon": "phone",
        # Notes is no field; a second column for code is left for the user to choose
    }
    assert propose_mapping(["Kundennummer", "Firma", "USt-IdNr"], synonyms("customers")) == {
        "Kundennummer": "code",
        "Firma": "name",
        "USt-IdNr": "tax_id",
    }


def test_mapping_of_the_api_field_names_as_an_export_writes_them() -> None:
    headers = ["code", "description", "gtin", "kind", "price_cents", "warranty_months"]
    assert propose_mapping(headers, synonyms("items")) == {h: h for h in headers}


def test_a_given_mapping_is_checked_against_the_file_and_the_fields() -> None:
    s = sheet("No;Name")
    assert imports.mapping_for("customers", s, {"No": "code", "Name": ""}) == {"No": "code"}
    for given, code in (
        ({"Nope": "code"}, "unknown_column"),
        ({"No": "colour"}, "unknown_field"),
        ({"No": "code", "Name": "code"}, "field_mapped_twice"),
    ):
        with pytest.raises(Invalid) as refused:
            imports.mapping_for("customers", s, given)
        assert refused.value.code == code


# -- checks, each with its row number --------------------------------------------------------


def test_every_bad_customer_cell_is_listed_with_row_and_field() -> None:
    s = sheet(
        "code;name;email;payment_terms_days;tier;tax_id;territory;credit_limit_cents",
        "K1;Good;a@b.de;30;A;DE1;NORTH;100000",
        ";No code;;;;;;",
        "K 3;Bad code;x;-1;D;" + "9" * 33 + ";;12.5",
        "K4;;;;;;;",
    )
    assert errors_of("customers", s) == [
        (3, "code", "required"),
        (4, "code", "'K 3' is not a code (letters, digits and _ . : / -)"),
        (4, "email", "'x' is not an e-mail address"),
        (4, "payment_terms_days", "-1 is not between 0 and 3650"),
        (4, "tier", "'D' is none of A, B, C"),
        (4, "tax_id", "longer than 32 characters"),
        (4, "credit_limit_cents", "'12.5' is not a whole number"),
        (5, "name", "required"),
    ]


def test_duplicates_inside_the_file_and_against_the_database() -> None:
    s = sheet("code;name;owner;parent", "K1;A;;", "OLD;B;;", "K1;C;;", "K2;D;nobody;K9", "K3;E;;K1")
    known = Known(customers={"OLD": 1}, users={"sam": 1})
    assert errors_of("customers", s, known) == [
        (3, "code", "customer 'OLD' exists"),
        (4, "code", "'K1' is also on row 2"),
        (5, "owner", "no user 'nobody'"),
        (5, "parent", "no customer 'K9' (in the database or file)"),
    ]


def test_a_parent_on_a_bad_row_makes_its_subsidiaries_bad() -> None:
    s = sheet("code;name;parent", "P1;;", "C1;Child;P1", "C2;Grandchild;C1")
    assert errors_of("customers", s) == [
        (2, "name", "required"),
        (3, "parent", "the parent is on bad row 2"),
        (4, "parent", "the parent is on bad row 3"),
    ]


def test_contacts_need_a_known_customer_and_appear_once() -> None:
    s = sheet(
        "Customer No;Contact;E-mail",
        "ACME;Ann;ann@acme.de",
        "NOPE;Bob;",
        "ACME;ann;",
        "ACME;Cy;",
    )
    known = Known(customers={"ACME": 1}, contacts={("ACME", "cy")})
    assert errors_of("contacts", s, known) == [
        (3, "customer", "no customer 'NOPE'"),
        (4, "name", "'ann' is also on row 2"),
        (5, "name", "ACME has a contact 'Cy'"),
    ]


def test_items_check_kind_gtin_and_codes() -> None:
    s = sheet(
        "SKU;Bezeichnung;EAN;kind;tracking",
        "A;Frame;12345678;make;lot",
        "B;Bolt;1234;buy;",
        "C;Tube;12345678;buy;",
        "D;Oil;;liquid;batch",
        "OLD;Old;;buy;",
        "E;Gear;87654321;buy;",
    )
    known = Known(items={"OLD": ItemFacts(1, "buy")}, gtins={"87654321"})
    assert errors_of("items", s, known) == [
        (3, "gtin", "'1234' is not a GTIN (8 to 14 digits)"),
        (4, "gtin", "'12345678' is also on row 2"),
        (5, "kind", "'liquid' is none of make, buy, service"),
        (5, "tracking", "'batch' is none of none, lot, serial"),
        (6, "code", "item 'OLD' exists"),
        (7, "gtin", "GTIN 87654321 belongs to another item"),
    ]


def test_open_orders_check_references_and_keep_an_order_whole() -> None:
    s = sheet(
        "order;customer;type;due_date;item;quantity",
        "A-1;ACME;;2026-12-31;FRAME;2",
        "A-1;ACME;;31.12.2026;BOLT;2,5",
        "B-1;ACME;;2026-12-31;FRAME;1",
        "B-1;ACME;;2027-01-15;GHOST;0",
        "C-1;NOPE;service_contract;soon;FRAME;1",
        "D-1;ACME;engineered;;FRAME;1",
        "E-1;ACME;;;FRAME;1",
    )
    known = Known(
        customers={"ACME": 1},
        items={"FRAME": ItemFacts(1, "make"), "BOLT": ItemFacts(2, "buy")},
        orders={("ACME", "E-1"): "SO-2026-000001"},
    )
    assert errors_of("open_orders", s, known) == [
        (4, "order", "order 'B-1' has a bad row 5"),
        (5, "quantity", "'0' is not a positive quantity"),
        (5, "item", "no item 'GHOST'"),
        (5, "due_date", "differs from row 4 of the order"),
        (6, "due_date", "'soon' is not a date (2026-12-31 or 31.12.2026)"),
        (6, "customer", "no customer 'NOPE'"),
        (6, "item", "a service contract sells services, not FRAME"),
        (7, "technical_specs", "an engineered order needs its specs"),
        (8, "order", "order 'E-1' of ACME exists as SO-2026-000001"),
    ]


def test_a_required_field_no_column_maps_to_makes_every_row_bad() -> None:
    s = sheet("Firma", "A", "B")
    checked = check("customers", s, {"Firma": "name"}, Known())
    assert checked.good == 0 and checked.bad == 2
    assert checked.errors == [
        {"row": None, "field": "code", "message": "no column of the file is mapped to it"}
    ]


def test_generated_customer_files_are_all_good() -> None:
    s = read_sheet(customers_csv(300), "customers.csv")
    assert len(s.rows) == 300
    assert errors_of("customers", s) == []


# -- jobs on the database --------------------------------------------------------------------


def preview(engine: Engine, kind: str, data: bytes, **options: Any) -> dict[str, Any]:
    s = read_sheet(data, "file.csv")
    mapping = imports.mapping_for(kind, s, options.pop("mapping", None))
    with engine.connect() as conn:
        checked = imports.examine(conn, kind, s, mapping)
    with engine.begin() as conn:
        answer = imports.record_preview(
            conn,
            kind=kind,
            filename="file.csv",
            sheet=s,
            mapping=mapping,
            checked=checked,
            only_good_rows=options.pop("only_good_rows", False),
            user_id=1,
            now=NOW,
        )
    imports.keep(answer["id"], "file.csv", data)
    return answer


def run(engine: Engine, job_id: int, only_good_rows: bool | None = None) -> dict[str, Any]:
    imports.start(engine, job_id, only_good_rows=only_good_rows, may=lambda kind: None)
    deadline = time.monotonic() + 30
    while imports.running_here(job_id):
        assert time.monotonic() < deadline, "the import does not end"
        time.sleep(0.02)
    with engine.connect() as conn:
        return imports.job(conn, job_id)


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def sam(engine: Engine) -> int:
    with engine.begin() as conn:
        return user(conn, "sam")


BAD_FILE = csv_bytes("code;name;parent\nK1;One;\nK2;;\nK3;Three;K1\n")


def test_preview_writes_nothing_but_the_job(engine: Engine, sam: int) -> None:
    answer = preview(engine, "customers", BAD_FILE)
    assert answer["status"] == "previewed"
    assert (answer["total"], answer["good"], answer["bad"]) == (3, 2, 1)
    assert answer["rows"] == [
        {"row": 2, "code": "K1", "name": "One", "parent": None},
        {"row": 4, "code": "K3", "name": "Three", "parent": "K1"},
    ]
    assert answer["errors"]["items"] == [{"row": 3, "field": "name", "message": "required"}]
    assert count(engine, customers) == 0


def test_a_file_with_a_bad_row_imports_nothing(engine: Engine, sam: int) -> None:
    job_id = preview(engine, "customers", BAD_FILE)["id"]
    with pytest.raises(Conflict) as refused:
        imports.start(engine, job_id, only_good_rows=None, may=lambda kind: None)
    assert refused.value.code == "bad_rows"
    assert count(engine, customers) == 0
    with engine.connect() as conn:
        assert imports.job(conn, job_id)["status"] == "refused"


def test_only_the_good_rows_when_asked(engine: Engine, sam: int) -> None:
    job_id = preview(engine, "customers", BAD_FILE)["id"]
    done = run(engine, job_id, only_good_rows=True)
    assert (done["status"], done["done"], done["imported"]) == ("done", 3, 2)
    with engine.connect() as conn:
        rows = conn.execute(select(customers.c.code, customers.c.parent_id, customers.c.id))
        by_code = {r.code: r for r in rows}
    assert sorted(by_code) == ["K1", "K3"]
    assert by_code["K3"].parent_id == by_code["K1"].id
    with pytest.raises(Conflict):  # a job runs once
        imports.start(engine, job_id, only_good_rows=True, may=lambda kind: None)


def refuse_customer(engine: Engine, code: str) -> None:
    """A trigger that makes the database refuse one customer, as only a write finds out."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON customers"
                f" WHEN NEW.code = '{code}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            return
        conn.exec_driver_sql(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN IF NEW.code = '{code}' THEN RAISE EXCEPTION 'refused'; END IF;"
            " RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON customers"
            " FOR EACH ROW EXECUTE FUNCTION refuse()"
        )


def test_a_failure_while_writing_rolls_everything_back(engine: Engine, sam: int) -> None:
    data = customers_csv(imports.CHUNK + 10)
    job_id = preview(engine, "customers", data)["id"]
    refuse_customer(engine, f"K{imports.CHUNK + 5:07d}")  # in the last chunk
    failed = run(engine, job_id)
    assert failed["status"] == "failed" and failed["imported"] == 0
    assert failed["errors"]["items"][-1]["message"].startswith("nothing imported:")
    assert "refused" in failed["errors"]["items"][-1]["message"]
    assert count(engine, customers) == 0


def test_contacts_and_items_import(engine: Engine, sam: int) -> None:
    with engine.begin() as conn:
        customer(conn, "ACME")
    job = preview(engine, "contacts", csv_bytes("Customer No,Contact,Role\nACME,Ann,buyer\n"))
    assert run(engine, job["id"])["imported"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(contacts.c.name, contacts.c.role)).all() == [("Ann", "buyer")]
    data = csv_bytes("SKU;Bezeichnung;kind;price_cents\nFRAME;Frame;make;12500\nBOLT;Bolt;buy;\n")
    assert run(engine, preview(engine, "items", data)["id"])["imported"] == 2
    with engine.connect() as conn:
        query = select(items.c.code, items.c.price_cents, items.c.unit, items.c.warranty_months)
        assert sorted(conn.execute(query).all()) == [
            ("BOLT", 0, "pcs", 12),
            ("FRAME", 12500, "pcs", 12),
        ]


def test_open_orders_grouped_into_draft_orders_with_lines(engine: Engine, sam: int) -> None:
    with engine.begin() as conn:
        customer(conn, "ACME")
        conn.execute(
            insert(items),
            [
                {"code": "FRAME", "description": "Frame", "kind": "make", "price_cents": 12500},
                {"code": "BOLT", "description": "Bolt", "kind": "buy", "price_cents": 10},
            ],
        )
    data = csv_bytes(
        "Order No;Customer No;Due;Item;Qty;unit_price_cents\n"
        "OLD-7;ACME;2026-12-31;FRAME;2;12000\n"
        "OLD-8;ACME;;BOLT;100;\n"
        "OLD-7;ACME;31.12.2026;BOLT;8;\n"
    )
    assert run(engine, preview(engine, "open_orders", data)["id"])["imported"] == 3
    with engine.connect() as conn:
        orders = conn.execute(
            select(
                sales_orders.c.id,
                sales_orders.c.customer_reference,
                sales_orders.c.status,
                sales_orders.c.due_date,
            ).order_by(sales_orders.c.customer_reference)
        ).all()
        lines = conn.execute(
            select(
                sales_order_lines.c.sales_order_id,
                sales_order_lines.c.line_no,
                items.c.code,
                sales_order_lines.c.quantity,
                sales_order_lines.c.unit_price_cents,
            )
            .join(items, items.c.id == sales_order_lines.c.item_id)
            .order_by(sales_order_lines.c.sales_order_id, sales_order_lines.c.line_no)
        ).all()
    assert [(o.customer_reference, o.status, o.due_date) for o in orders] == [
        ("OLD-7", "draft", date(2026, 12, 31)),
        ("OLD-8", "draft", None),
    ]
    first, second = orders[0].id, orders[1].id
    assert [tuple(line) for line in lines] == [
        (first, 1, "FRAME", 2.0, 12000),
        (first, 2, "BOLT", 8.0, 10),  # no price given: the item's
        (second, 1, "BOLT", 100.0, 10),
    ]
    # the same file again: every order exists already
    again = preview(engine, "open_orders", data)
    assert again["bad"] == 3


# -- what the reviewer found -----------------------------------------------------------------


def test_two_customers_may_use_one_order_reference() -> None:
    s = sheet(
        "order;customer;due_date;item;quantity",
        "PO-1;ACME;2026-12-31;FRAME;1",
        "PO-1;BETA;2027-01-31;FRAME;2",
        "PO-1;ACME;2026-12-31;FRAME;3",
    )
    known = Known(customers={"ACME": 1, "BETA": 2}, items={"FRAME": ItemFacts(1, "make")})
    assert errors_of("open_orders", s, known) == []
    known.orders = {("BETA", "PO-1"): "SO-2026-000001"}
    assert errors_of("open_orders", s, known) == [
        (3, "order", "order 'PO-1' of BETA exists as SO-2026-000001")
    ]


def test_a_parent_may_come_later_in_the_file_but_not_round_in_a_loop() -> None:
    s = sheet(
        "code;name;parent",
        "C1;Child;P1",
        "P1;Parent;",
        "L1;Loop one;L2",
        "L2;Loop two;L1",
        "L3;Below the loop;L1",
    )
    assert errors_of("customers", s) == [
        (4, "parent", "a parent loop: L1 -> L2 -> L1"),
        (5, "parent", "a parent loop: L1 -> L2 -> L1"),
        (6, "parent", "the parent is on bad row 4"),
    ]


def test_a_subsidiary_before_its_parent_imports_with_its_name_key(engine: Engine, sam: int) -> None:
    data = csv_bytes("code;name;parent\nC1;Müller GmbH & Co. KG;P1\nP1;Parent AG;\n")
    done = run(engine, preview(engine, "customers", data)["id"])
    assert (done["status"], done["imported"]) == ("done", 2)
    with engine.connect() as conn:
        rows = conn.execute(select(customers.c.code, customers.c.id, customers.c.parent_id))
        by_code = {r.code: r for r in rows}
        keys = dict(conn.execute(select(customers.c.code, customers.c.name_key)).all())
    assert by_code["C1"].parent_id == by_code["P1"].id
    assert keys == {"C1": name_key("Müller GmbH & Co. KG"), "P1": name_key("Parent AG")}
    assert keys["C1"] == "mueller"


def acme_beta_and_items(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "ACME")
        customer(conn, "BETA")
        conn.execute(
            insert(items),
            [
                {"code": "FRAME", "description": "Frame", "kind": "make", "price_cents": 12500},
                {"code": "BOLT", "description": "Bolt", "kind": "buy", "price_cents": 10},
            ],
        )


TWO_CUSTOMERS_ONE_REFERENCE = csv_bytes(
    "order;customer;item;quantity\nPO-1;ACME;FRAME;1\nPO-1;BETA;BOLT;5\nPO-1;ACME;BOLT;2\n"
)


def test_one_reference_of_two_customers_makes_two_orders(engine: Engine, sam: int) -> None:
    acme_beta_and_items(engine)
    done = run(engine, preview(engine, "open_orders", TWO_CUSTOMERS_ONE_REFERENCE)["id"])
    assert (done["status"], done["imported"]) == ("done", 3)
    with engine.connect() as conn:
        query = (
            select(customers.c.code, sales_orders.c.customer_reference, func.count())
            .join(customers, customers.c.id == sales_orders.c.customer_id)
            .join(sales_order_lines, sales_order_lines.c.sales_order_id == sales_orders.c.id)
            .group_by(customers.c.code, sales_orders.c.customer_reference)
            .order_by(customers.c.code)
        )
        assert [tuple(r) for r in conn.execute(query)] == [("ACME", "PO-1", 2), ("BETA", "PO-1", 1)]


def test_a_run_checks_its_rows_again_in_its_own_transaction(engine: Engine, sam: int) -> None:
    """Two jobs of one file: the second checked at start before the first wrote, and run
    after it, fails whole instead of making every order twice."""
    acme_beta_and_items(engine)
    first = preview(engine, "open_orders", TWO_CUSTOMERS_ONE_REFERENCE)["id"]
    second = preview(engine, "open_orders", TWO_CUSTOMERS_ONE_REFERENCE)["id"]
    s = read_sheet(TWO_CUSTOMERS_ONE_REFERENCE, "file.csv")
    mapping = imports.mapping_for("open_orders", s, None)
    with engine.connect() as conn:
        at_start = imports.examine(conn, "open_orders", s, mapping)  # the second's start
    assert at_start.bad == 0
    assert run(engine, first)["status"] == "done"
    with engine.begin() as conn:  # what the second's start did after its check
        conn.execute(
            import_jobs.update().where(import_jobs.c.id == second).values(status="running")
        )
    imports._run(engine, second, "open_orders", s, mapping, at_start)
    with engine.connect() as conn:
        failed = imports.job(conn, second)
    assert (failed["status"], failed["imported"], failed["bad"]) == ("failed", 0, 3)
    messages = [e["message"] for e in failed["errors"]["items"]]
    assert messages[0].startswith("order 'PO-1' of ACME exists as SO-")
    assert messages[-1] == (
        "nothing imported: 3 rows good when the import started are bad now (rows 2, 3, 4):"
        " the database changed meanwhile; check the file again"
    )
    assert count(engine, sales_orders) == 2


def test_one_import_of_a_kind_runs_at_a_time(engine: Engine, sam: int) -> None:
    first = preview(engine, "customers", csv_bytes("code;name\nK1;One\n"))["id"]
    second = preview(engine, "customers", csv_bytes("code;name\nK2;Two\n"))["id"]
    contacts_job = preview(engine, "contacts", csv_bytes("customer;name\n"))["id"]
    with engine.begin() as conn:  # running here or in another central process
        conn.execute(import_jobs.update().where(import_jobs.c.id == first).values(status="running"))
    with pytest.raises(Conflict) as refused:
        imports.start(engine, second, only_good_rows=None, may=lambda kind: None)
    assert refused.value.code == "import_running"
    with engine.connect() as conn:
        assert imports.job(conn, second)["status"] == "previewed"
    assert run(engine, contacts_job)["status"] == "done"  # another kind runs alongside
    with engine.begin() as conn:
        conn.execute(import_jobs.update().where(import_jobs.c.id == first).values(status="done"))
    assert run(engine, second)["imported"] == 1


def test_a_job_running_elsewhere_fails_only_when_done_stands_still(
    engine: Engine, sam: int
) -> None:
    job_id = preview(engine, "customers", csv_bytes("code;name\nK1;One\n"))["id"]
    with engine.begin() as conn:  # another central process runs it
        conn.execute(
            import_jobs.update().where(import_jobs.c.id == job_id).values(status="running")
        )
    t = 1000.0
    assert not imports.stalled(job_id, 0, now=t)
    assert not imports.stalled(job_id, 0, now=t + imports.STALLED - 1)
    with engine.begin() as conn:  # its first chunk is written
        conn.execute(import_jobs.update().where(import_jobs.c.id == job_id).values(done=1))
    imports.interrupted(engine, job_id, 0)  # done moved on since it was read: nothing happens
    with engine.connect() as conn:
        assert imports.job(conn, job_id)["status"] == "running"
    assert not imports.stalled(job_id, 1, now=t + imports.STALLED + 1)
    assert not imports.stalled(job_id, 1, now=t + 2 * imports.STALLED)
    assert imports.stalled(job_id, 1, now=t + 2 * imports.STALLED + 1)
    imports.interrupted(engine, job_id, 1)
    with engine.connect() as conn:
        failed = imports.job(conn, job_id)
    assert failed["status"] == "failed"
    assert failed["errors"]["items"][-1]["message"] == "central stopped during the import"
