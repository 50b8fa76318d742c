"""The demo company's master data as plain rows: who it sells to, what it makes and buys, how.

Read by central.seed, which loads them; kept apart so the story of the order book there
reads in one sitting.
"""

from __future__ import annotations

from typing import Any

GS1_COMPANY_PREFIX = "4012345"  # fictional, in GS1 Germany's range
# work center -> its station, as floorsync/demo_edge.toml names them
STATIONS = {"CNC": "ST-10", "ASSY": "ST-20", "TEST": "ST-30"}


def _rows(columns: str, *rows: tuple[Any, ...]) -> list[dict[str, Any]]:
    names = columns.split()
    return [dict(zip(names, row, strict=True)) for row in rows]


CUSTOMERS = _rows(
    "code name tax_id email phone address credit_limit_cents payment_terms_days",
    ("NORDHYD", "Nordic Hydraulics AB", "SE556677889901", "orders@nordhyd.example",
     "+46 31 555 0142", "Hamnvägen 12\n417 64 Göteborg\nSweden", 6_000_000, 30),
    ("RHEINPMP", "Rheinland Pumpen GmbH", "DE813456782", "einkauf@rheinpumpen.example",
     "+49 221 555 3310", "Industriestraße 40\n50735 Köln\nGermany", 8_000_000, 45),
    ("BLUEWTR", "Bluewater Utilities Ltd", "GB293847561", "procurement@bluewater.example",
     "+44 117 555 0199", "Unit 4, Avonmouth Way\nBristol BS11 9YA\nUnited Kingdom",
     10_000_000, 60),
    ("IBERVAL", "Iberia Válvulas S.L.", "ESB86543210", "compras@iberval.example",
     "+34 91 555 2718", "Calle de la Forja 7\n28906 Getafe\nSpain", 2_500_000, 30),
    ("ADRIAFL", "Adria Flow d.o.o.", "HR51234567890", "nabava@adriaflow.example",
     "+385 51 555 404", "Riječka cesta 88\n51000 Rijeka\nCroatia", 150_000, 14),
    ("CASCADE", "Cascade Process Systems Inc.", "US-47-1234567", "ap@cascadeps.example",
     "+1 503 555 0123", "2200 NW Front Ave\nPortland, OR 97209\nUSA", None, 30),
    ("POLTECH", "Poltech Instalacje Sp. z o.o.", "PL5272938475", "zakupy@poltech.example",
     "+48 22 555 6070", "ul. Przemysłowa 15\n02-232 Warszawa\nPoland", 2_000_000, 14),
    ("ALPCHEM", "Alpine Chemie AG", "CHE-123.456.789", "beschaffung@alpchem.example",
     "+41 61 555 7788", "Werkstrasse 3\n4133 Pratteln\nSwitzerland", 5_000_000, 30),
)  # fmt: skip

CONTACTS = (  # customer, name, role, email, phone
    ("NORDHYD", "Karin Sjöberg", "purchasing", "karin.sjoberg@nordhyd.example", "+46 31 555 0143"),
    ("NORDHYD", "Olof Berg", "maintenance", "olof.berg@nordhyd.example", "+46 31 555 0150"),
    ("RHEINPMP", "Jens Hoffmann", "purchasing", "j.hoffmann@rheinpumpen.example", None),
    ("BLUEWTR", "Priya Raman", "engineering", "priya.raman@bluewater.example", "+44 117 555 0201"),
    ("BLUEWTR", "Gareth Hughes", "accounts payable", "ap@bluewater.example", None),
    ("IBERVAL", "Lucía Ortega", "purchasing", "lortega@iberval.example", "+34 91 555 2719"),
    ("ADRIAFL", "Ivan Kovač", "owner", "ivan.kovac@adriaflow.example", "+385 51 555 405"),
    ("CASCADE", "Megan Doyle", "plant engineering", "mdoyle@cascadeps.example", None),
    ("CASCADE", "Luis Ramirez", "accounts payable", "lramirez@cascadeps.example", None),
    ("POLTECH", "Agnieszka Wójcik", "purchasing", "a.wojcik@poltech.example", "+48 22 555 6071"),
    ("ALPCHEM", "Dr. Reto Baumann", "process engineering", "reto.baumann@alpchem.example", None),
    ("ALPCHEM", "Sandra Meier", "purchasing", "sandra.meier@alpchem.example", "+41 61 555 7790"),
)

# gtin_ref: the item reference under the company prefix; bought items carry a GTIN
ITEMS = _rows(
    "code description kind tracking price_cents lead_time_days gtin_ref",
    ("VLV-BALL-25", "Ball valve DN25 PN40, CF8M, full bore", "make", "lot", 18_900, 0, None),
    ("VLV-BALL-50", "Ball valve DN50 PN40, CF8M, full bore", "make", "lot", 34_500, 0, None),
    ("VLV-GATE-80", "Gate valve DN80 PN16, ductile iron, resilient seat", "make", "lot", 52_000,
     0, None),
    ("IMP-BRZ-125", "Impeller 125 mm, bronze CuSn10, machined and balanced", "make", "lot",
     9_800, 0, None),
    ("PMP-CN-32-160", "Centrifugal pump 32-160, 1.5 kW, close-coupled", "make", "serial",
     129_000, 0, None),
    ("BODY-BALL-25", "Valve body DN25, CF8M investment casting", "buy", "lot", 4_200, 35, "10025"),
    ("BODY-BALL-50", "Valve body DN50, CF8M investment casting", "buy", "lot", 7_900, 42, "10050"),
    ("BALL-25", "Ball DN25, AISI 316, polished", "buy", "lot", 1_150, 21, "11025"),
    ("BALL-50", "Ball DN50, AISI 316, polished", "buy", "lot", 2_400, 21, "11050"),
    ("STEM-25", "Stem DN25, 17-4PH, anti-blowout", "buy", "lot", 640, 14, "12025"),
    ("STEM-50", "Stem DN50, 17-4PH, anti-blowout", "buy", "lot", 910, 14, "12050"),
    ("SEAT-PTFE-25", "Seat ring DN25, PTFE 15 % glass", "buy", "lot", 180, 10, "13025"),
    ("SEAT-PTFE-50", "Seat ring DN50, PTFE 15 % glass", "buy", "lot", 290, 10, "13050"),
    ("BODY-GATE-80", "Gate valve body and bonnet DN80, EN-GJS-400", "buy", "lot", 16_500, 56,
     "14080"),
    ("WEDGE-80", "Wedge DN80, EPDM encapsulated", "buy", "lot", 3_800, 28, "15080"),
    ("GASKET-80", "Bonnet gasket DN80, graphite", "buy", "lot", 420, 10, "16080"),
    ("CAST-IMP-125", "Impeller casting 125 mm, CuSn10", "buy", "lot", 3_100, 30, "17125"),
    ("CASING-32", "Volute casing 32-160, EN-GJL-250", "buy", "lot", 14_000, 45, "18032"),
    ("MOTOR-1K5", "IE3 motor 1.5 kW, 4-pole, B35", "buy", "lot", 21_000, 21, "19015"),
    ("SEAL-MECH-22", "Mechanical seal 22 mm, SiC/SiC, EPDM", "buy", "lot", 4_600, 14, "20022"),
    ("BOLT-M10", "Hex bolt M10x30, A4-70", "buy", "lot", 12, 7, "21010"),
    ("SVC-COMM", "Commissioning on site, per day", "service", "none", 95_000, 0, None),
    ("SVC-MAINT-Y", "Annual maintenance contract, per pump", "service", "none", 48_000, 0, None),
    ("SVC-REPAIR-H", "Repair labour, per hour", "service", "none", 8_500, 0, None),
)  # fmt: skip

WORK_CENTERS = _rows(
    "code name capacity",
    ("CNC", "CNC machining cell", 1),
    ("ASSY", "Valve and pump assembly", 1),
    ("TEST", "Hydrostatic and run test bench", 1),
)

ROUTINGS = (  # item, operation, work center, description, setup min, run min/unit, crew, inspect
    ("VLV-BALL-25", "10", "CNC", "Machine body: bore, seat pockets, threads", 45, 2.5, 1, False),
    ("VLV-BALL-25", "20", "ASSY", "Assemble ball, seats and stem; torque bolts", 10, 3.0, 2, False),
    ("VLV-BALL-25", "30", "TEST", "Shell and seat test, EN 12266-1", 15, 1.5, 1, True),
    ("VLV-BALL-50", "10", "CNC", "Machine body: bore, seat pockets, flanges", 60, 4.0, 1, False),
    ("VLV-BALL-50", "20", "ASSY", "Assemble ball, seats and stem; torque bolts", 10, 4.5, 2, False),
    ("VLV-BALL-50", "30", "TEST", "Shell and seat test, EN 12266-1", 15, 2.5, 1, True),
    ("VLV-GATE-80", "10", "CNC", "Face flanges, machine bonnet seat", 50, 6.0, 1, False),
    ("VLV-GATE-80", "20", "ASSY", "Fit wedge, gasket and bonnet", 15, 7.0, 2, False),
    ("VLV-GATE-80", "30", "TEST", "Shell and seat test, EN 12266-1", 20, 4.0, 1, True),
    ("IMP-BRZ-125", "10", "CNC", "Turn hub, bore and keyway", 40, 5.0, 1, True),
    ("IMP-BRZ-125", "20", "TEST", "Dynamic balancing, ISO 21940 G6.3", 10, 3.0, 1, False),
    ("PMP-CN-32-160", "10", "CNC", "Machine casing flanges and seal chamber", 45, 12.0, 1, False),
    ("PMP-CN-32-160", "20", "ASSY", "Mount impeller, seal and motor", 20, 25.0, 2, False),
    ("PMP-CN-32-160", "30", "TEST", "Performance run test, ISO 9906 grade 2B", 15, 20.0, 1, True),
)  # fmt: skip

BOM = (  # parent, operation, component, quantity per unit, scrap allowance, issue tolerance
    ("VLV-BALL-25", "10", "BODY-BALL-25", 1, 0.02, 0.0),
    ("VLV-BALL-25", "20", "BALL-25", 1, 0.01, 0.0),
    ("VLV-BALL-25", "20", "STEM-25", 1, 0.01, 0.0),
    ("VLV-BALL-25", "20", "SEAT-PTFE-25", 2, 0.05, 0.10),
    ("VLV-BALL-25", "20", "BOLT-M10", 4, 0.02, 0.25),
    ("VLV-BALL-50", "10", "BODY-BALL-50", 1, 0.02, 0.0),
    ("VLV-BALL-50", "20", "BALL-50", 1, 0.01, 0.0),
    ("VLV-BALL-50", "20", "STEM-50", 1, 0.01, 0.0),
    ("VLV-BALL-50", "20", "SEAT-PTFE-50", 2, 0.05, 0.10),
    ("VLV-BALL-50", "20", "BOLT-M10", 8, 0.02, 0.25),
    ("VLV-GATE-80", "10", "BODY-GATE-80", 1, 0.0, 0.0),
    ("VLV-GATE-80", "20", "WEDGE-80", 1, 0.0, 0.0),
    ("VLV-GATE-80", "20", "GASKET-80", 1, 0.05, 0.10),
    ("VLV-GATE-80", "20", "BOLT-M10", 8, 0.02, 0.25),
    ("IMP-BRZ-125", "10", "CAST-IMP-125", 1, 0.03, 0.0),
    ("PMP-CN-32-160", "10", "CASING-32", 1, 0.0, 0.0),
    ("PMP-CN-32-160", "20", "IMP-BRZ-125", 1, 0.0, 0.0),
    ("PMP-CN-32-160", "20", "SEAL-MECH-22", 1, 0.0, 0.0),
    ("PMP-CN-32-160", "20", "MOTOR-1K5", 1, 0.0, 0.0),
    ("PMP-CN-32-160", "20", "BOLT-M10", 8, 0.02, 0.25),
)

DEFECT_CODES = (
    ("DEF-POROSITY", "Casting porosity"),
    ("DEF-LEAK", "Leak at the hydrostatic test"),
    ("DEF-SEAT", "Seat damaged or misaligned"),
    ("DEF-THREAD", "Thread out of tolerance"),
    ("DEF-DIM", "Dimension out of tolerance"),
    ("DEF-SURFACE", "Surface finish: scratches or dents"),
    ("DEF-TORQUE", "Operating torque too high"),
    ("DEF-IMBAL", "Residual imbalance over the grade"),
)

OPERATORS = (  # badge, name, skills (work centers)
    ("EMP-0042", "Anna Lindqvist", ["CNC", "ASSY"]),
    ("EMP-0043", "Marek Nowak", ["CNC"]),
    ("EMP-0051", "Sofia Romano", ["ASSY", "TEST"]),
    ("EMP-0057", "Jonas Weber", ["ASSY"]),
    ("EMP-0063", "Inês Carvalho", ["TEST"]),
    ("EMP-0070", "Tomasz Zieliński", ["CNC", "TEST"]),
    ("EMP-0078", "Leila Haddad", ["ASSY", "TEST"]),
    ("EMP-0085", "Pieter de Vries", ["CNC", "ASSY", "TEST"]),
)

# (days before now, quantity) of each lot L1, L2, L3 of bought components in STORES
PURCHASES = {
    "BODY-BALL-25": ((120, 20), (45, 25), (15, 30)),
    "BODY-BALL-50": ((120, 12), (45, 15), (15, 10)),
    "BALL-25": ((120, 40), (45, 40)),
    "BALL-50": ((120, 25), (45, 20)),
    "STEM-25": ((120, 50), (45, 50)),
    "STEM-50": ((120, 30), (45, 30)),
    "SEAT-PTFE-25": ((120, 100), (45, 100), (15, 100)),
    "SEAT-PTFE-50": ((120, 80), (45, 80)),
    "BODY-GATE-80": ((120, 8), (45, 12)),
    "WEDGE-80": ((120, 10), (45, 6)),
    "GASKET-80": ((120, 30), (15, 30)),
    "CAST-IMP-125": ((120, 30), (45, 30), (15, 20)),
    "CASING-32": ((120, 4), (15, 4)),
    "MOTOR-1K5": ((45, 3), (15, 3)),
    "SEAL-MECH-22": ((120, 6), (15, 6)),
    "BOLT-M10": ((120, 500), (45, 1000), (15, 1000)),
}
# finished goods on hand when the books were opened: item -> (lot or serial, quantity)
OPENING_STOCK = {
    "VLV-BALL-25": (("OB-VB25-01", 40),),
    "VLV-BALL-50": (("OB-VB50-01", 12),),
    "IMP-BRZ-125": (("OB-IMP125-01", 25),),
    "PMP-CN-32-160": (("PU32-2604-0007", 1), ("PU32-2604-0008", 1), ("PU32-2605-0002", 1)),
}

ENGINEERED_SPECS = {
    "medium": "sulphuric acid 30 %",
    "design_pressure_bar": 25,
    "design_temperature_c": 120,
    "body_material": "CF8M",
    "seat_material": "PEEK",
    "end_connection": "flanged EN 1092-1 PN40",
    "certificate": "EN 10204 3.1",
    "atex": "II 2G Ex h IIC T4 Gb",
    "drawing": "ALP-4711-B",
}
