"""The import page in headless Chromium on a real central: a CSV with one bad row is
previewed, the bad row listed, only the good rows imported, the progress bar at 100 %."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from central.auth import create_user
from central.db import make_engine, migrate
from tests.helpers import Mosquitto
from tests.integration.conftest import Proc, central_on

pytestmark = [pytest.mark.services, pytest.mark.slow]

FILE = (
    "Kundennummer;Firma;E-Mail;Tier\n"
    "K1;Eins GmbH;einkauf@eins.de;A\n"
    "K2;Zwei AG;nicht-erreichbar;B\n"
    "K3;Drei KG;;C\n"
)


@pytest.fixture
def central(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[tuple[Proc, str, str]]:
    db = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(db)
    migrate(engine)
    with engine.begin() as conn:
        token = create_user(conn, "sam", ["sales"])
    engine.dispose()
    proc = central_on(db, mosquitto.url, tmp_path)
    proc.start()
    try:
        yield proc, token, db
    except BaseException:
        print(proc.log.read_text()[-4000:])
        raise
    finally:
        proc.stop()


def test_a_file_with_a_bad_row_imports_only_the_good_rows_when_asked(
    central: tuple[Proc, str, str], page: Any, tmp_path: Path
) -> None:
    proc, token, db = central
    upload = tmp_path / "kunden.csv"
    upload.write_bytes(b"\xef\xbb\xbf" + FILE.encode())

    page.goto(f"{proc.url}/import")
    page.fill("#token", token)
    page.press("#token", "Enter")
    page.select_option("#kind", "customers")
    page.set_input_files("#file", str(upload))
    page.click("#upload button[type=submit]")

    page.wait_for_selector("#errors tbody tr")
    assert page.get_attribute("#counts", "data-good") == "2"
    assert page.get_attribute("#counts", "data-bad") == "1"
    bad = page.inner_text("#errors tbody")
    assert "3" in bad and "email" in bad and "not an e-mail address" in bad
    assert page.eval_on_selector('select[data-column="E-Mail"]', "s => s.value") == "email"
    assert "K1" in page.inner_text("#rows") and "K3" in page.inner_text("#rows")

    page.click("#run")  # without the checkbox: refused, nothing written
    page.wait_for_selector("#message.error")
    assert "bad" in page.inner_text("#message")

    page.check("#only-good")
    page.click("#run")
    page.wait_for_selector('#outcome[data-status="done"]', timeout=20_000)
    assert page.get_attribute("#progress", "data-progress") == "100"
    assert "Imported 2 rows" in page.inner_text("#outcome")

    engine = sa.create_engine(db)
    with engine.connect() as conn:
        codes = conn.execute(sa.text("SELECT code FROM customers ORDER BY code")).scalars().all()
    engine.dispose()
    assert codes == ["K1", "K3"]
