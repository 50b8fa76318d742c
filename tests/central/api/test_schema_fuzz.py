"""schemathesis against central's OpenAPI: no operation answers with a server error.

Every operation gets generated requests (bodies, path and query values, valid and not)
as a user with every role, on a freshly seeded SQLite database; schemathesis's
``not_a_server_error`` check fails on any 5xx. ``FLOORSYNC_SCHEMA_EXAMPLES`` sets the
examples per operation and mode (CI: a few; ``floorsync bench fuzz`` runs more).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from openpyxl import load_workbook

from floorsync.bench import fuzz_api
from tests.central.api.conftest import Api

EXAMPLES = int(os.environ.get("FLOORSYNC_SCHEMA_EXAMPLES", "3"))


def test_no_central_operation_answers_with_a_server_error(tmp_path: Path) -> None:
    app, headers, close = fuzz_api.central(tmp_path)
    try:
        tally = fuzz_api.run_schema("central", app, headers, EXAMPLES)
    finally:
        close()
    assert tally.errors == [], "\n".join(tally.errors)
    assert tally.operations > 100
    assert tally.ok > tally.operations  # the token gets in: not everything is refused


def test_an_excel_export_of_a_name_with_control_characters(sqlite_api: Api) -> None:
    # found by the test above: openpyxl refuses such a cell, and the export was a 500
    body = {"code": "CTRL", "name": "Acme\x1a Pumps\x06"}
    sqlite_api.ok(sqlite_api.post("/customers", body, user="sales"), 201)
    response = sqlite_api.get("/exports/customers", user="sales", format="xlsx")
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    assert "Acme Pumps" in {cell.value for row in sheet.iter_rows() for cell in row}
