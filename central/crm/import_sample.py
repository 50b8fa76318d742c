"""Customer files to import, as large as asked: ``python -m central.crm.import_sample 100000
customers.csv`` writes 100,000 rows with the headers a German ERP export would have."""

from __future__ import annotations

import csv
import io
import random
import sys
from pathlib import Path

__all__ = ["HEADERS", "customers_csv"]

HEADERS = (
    "Kundennummer",
    "Firma",
    "USt-IdNr",
    "E-Mail",
    "Telefon",
    "Adresse",
    "Zahlungsziel",
    "Region",
    "Tier",
)
_TOWNS = ("Berlin", "Hamburg", "München", "Köln", "Stuttgart", "Leipzig", "Bremen", "Graz")
_TERRITORIES = ("DE-E", "DE-N", "DE-S", "DE-W", "DE-S", "DE-E", "DE-N", "AT")
_FORMS = ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.")


def customers_csv(rows: int, *, seed: int = 1, delimiter: str = ";") -> bytes:
    """``rows`` distinct, valid customers as UTF-8 CSV with a BOM (as Excel saves it)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for n in range(1, rows + 1):
        place = rng.randrange(len(_TOWNS))
        town = _TOWNS[place]
        writer.writerow(
            (
                f"K{n:07d}",
                f"{town} Pumpen {n} {rng.choice(_FORMS)}",
                f"DE{rng.randrange(10**8, 10**9)}",
                f"einkauf{n}@example.com",
                f"+49 {rng.randrange(100, 999)} {rng.randrange(10**5, 10**7)}",
                f"Industriestraße {rng.randrange(1, 200)}, {town}",
                rng.choice((14, 30, 45, 60)),
                _TERRITORIES[place],
                rng.choice("ABC"),
            )
        )
    return b"\xef\xbb\xbf" + out.getvalue().encode()


if __name__ == "__main__":
    count, target = int(sys.argv[1]), Path(sys.argv[2])
    target.write_bytes(customers_csv(count))
    print(f"{count} customers in {target}")
