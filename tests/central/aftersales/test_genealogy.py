"""Genealogy backward and forward over a plant driven through the real ingest path.

A bought rubber lot is pressed into a made seal, the seal lot goes into a valve made by a
crew of two at a station with a machine, the valve is inspected, received and shipped;
pumps are serial-tracked, one serial inspected, one shipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select, text

from central.aftersales import genealogy
from central.db.aftersales import operation_crews
from central.db.domain import (
    bom_lines,
    customers,
    defect_codes,
    items,
    operators,
    production_orders,
    routing_operations,
    work_centers,
)
from central.ingest import Ingestor
from central.orders import inventory, sales, shipping
from central.orders.errors import NotFound
from tests.central.conftest import EDGE, LAYOUT, batch, envelope, events_topic

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _insert(conn: Connection, table: Any, **values: Any) -> int:
    key = conn.execute(insert(table).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def master_data(conn: Connection) -> None:
    """Two customers, the valve (seal of rubber, body) and the serial-tracked pump."""
    for code, name in (("ACME", "Acme Pumps"), ("BETA", "Beta Water")):
        _insert(conn, customers, code=code, name=name, created_at=NOW)
    ids = {
        code: _insert(
            conn,
            items,
            code=code,
            description=description,
            kind=kind,
            tracking=tracking,
            price_cents=price,
        )
        for code, description, kind, tracking, price in (
            ("VALVE-50", "Ball valve DN50", "make", "lot", 12_500),
            ("SEAL-50", "Seal DN50", "make", "lot", 0),
            ("RUBBER", "EPDM rubber", "buy", "lot", 0),
            ("BODY-50", "Valve body", "buy", "lot", 0),
            ("PUMP-1", "Pump P1", "make", "serial", 90_000),
            ("MOTOR", "Motor 1 kW", "buy", "lot", 0),
        )
    }
    press = _insert(
        conn, work_centers, code="PRESS", name="Press", edge_id=EDGE, stations=["ST-10"]
    )
    assembly = _insert(
        conn, work_centers, code="ASSY", name="Assembly", edge_id=EDGE, stations=["ST-20"]
    )
    for item, op, wc, inspect in (
        ("SEAL-50", "10", press, False),
        ("VALVE-50", "10", assembly, False),
        ("VALVE-50", "20", assembly, True),
        ("PUMP-1", "10", assembly, True),
    ):
        _insert(
            conn,
            routing_operations,
            item_id=ids[item],
            operation=op,
            sequence=int(op),
            work_center_id=wc,
            run_minutes_per_unit=1.0,
            inspection_required=inspect,
            predecessors=[],
        )
    for parent, component, per_unit in (
        ("SEAL-50", "RUBBER", 0.1),
        ("VALVE-50", "SEAL-50", 1.0),
        ("VALVE-50", "BODY-50", 1.0),
        ("PUMP-1", "MOTOR", 1.0),
    ):
        _insert(
            conn,
            bom_lines,
            item_id=ids[parent],
            operation="10",
            component_id=ids[component],
            quantity_per_unit=per_unit,
        )
    for badge, name in (("EMP-1", "Ana Ruiz"), ("EMP-2", "Ben Okafor"), ("QA-1", "Chris Lee")):
        conn.execute(insert(operators).values(badge=badge, name=name, skills=["PRESS", "ASSY"]))
    conn.execute(insert(defect_codes).values(code="SCRATCH", description="Scratch on the body"))
    inventory.book(
        conn,
        [
            inventory.Move(ids["RUBBER"], "R-7", 10.0, "purchase", "PO-31", to_location="STORES"),
            inventory.Move(ids["BODY-50"], "B-1", 10.0, "purchase", "PO-32", to_location="STORES"),
            inventory.Move(ids["MOTOR"], "M-3", 5.0, "purchase", "PO-33", to_location="STORES"),
        ],
        NOW,
    )


def report(
    wo: str, op: str, good: int, *crew: tuple[str, int, float], **extra: Any
) -> dict[str, Any]:
    """A production report of ``good`` pieces, split across ``crew`` (badge, good, hours)."""
    return {
        "work_order": wo,
        "operation": op,
        "good": good,
        "scrap": 0,
        "period_start": "2026-11-23T08:00:00Z",
        "period_end": "2026-11-23T10:00:00Z",
        "labour_hours": sum(h for _, _, h in crew),
        "crew": [
            {"operator": badge, "good": g, "scrap": 0, "labour_hours": h} for badge, g, h in crew
        ],
        **extra,
    }


def issue(wo: str, item: str, lot: str, quantity: float, *badges: str) -> dict[str, Any]:
    return {
        "work_order": wo,
        "operation": "10",
        "item": item,
        "lot": lot,
        "quantity": quantity,
        "operators": list(badges),
    }


def machine(name: str) -> dict[str, Any]:
    return {"machine": name, "state": "running", "since": "2026-11-23T07:00:00Z"}


def plant(engine: Engine) -> dict[str, str]:
    """Make and ship valves and pumps through ingest; the numbers of what was made."""
    with engine.begin() as conn:
        master_data(conn)
        valves = sales.create(
            conn,
            customer="ACME",
            type="make_to_order",
            lines=[{"item": "VALVE-50", "quantity": 4}],
            now=NOW,
        )
        valve, seal = sales.confirm(conn, valves, NOW)["production_orders"]
        pumps = sales.create(
            conn,
            customer="BETA",
            type="make_to_order",
            lines=[{"item": "PUMP-1", "quantity": 2}],
            now=NOW,
        )
        (pump,) = sales.confirm(conn, pumps, NOW)["production_orders"]
    floor: list[tuple[str, dict[str, Any], str]] = [
        ("machine_state", machine("PRESS-1"), "ST-10"),
        ("machine_state", machine("ASSY-1"), "ST-20"),
        ("material_issue", issue(seal, "RUBBER", "R-7", 0.4, "EMP-1"), "ST-10"),
        (
            "production_report",
            report(seal, "10", 4, ("EMP-1", 4, 2.0), operation_end=True),
            "ST-10",
        ),
        # whole numbers arrive as JSON ints next to 0.4: PostgreSQL's bulk insert needs floats
        ("material_issue", issue(valve, "SEAL-50", seal, 4, "EMP-1", "EMP-2"), "ST-20"),
        ("material_issue", issue(valve, "BODY-50", "B-1", 4, "EMP-2"), "ST-20"),
        (
            "production_report",
            report(valve, "10", 4, ("EMP-1", 3, 1.5), ("EMP-2", 1, 0.5), operation_end=True),
            "ST-20",
        ),
        ("production_report", report(valve, "20", 4, ("EMP-2", 4, 1.0)), "ST-20"),
        (
            "inspection",
            {
                "work_order": valve,
                "operation": "20",
                "inspected": 1,
                "defects": [{"code": "SCRATCH"}],
                "disposition": "accept",
                "result": "pass",
                "inspector": "QA-1",
            },
            "ST-20",
        ),
        ("material_issue", issue(pump, "MOTOR", "M-3", 2, "EMP-2"), "ST-20"),
        (
            "production_report",
            report(pump, "10", 2, ("EMP-2", 2, 3.0), operation_end=True),
            "ST-20",
        ),
        (
            "inspection",
            {
                "work_order": pump,
                "operation": "10",
                "inspected": 1,
                "disposition": "accept",
                "check": "full",
                "inspector": "QA-1",
                "serial": f"{pump}-0002",
            },
            "ST-20",
        ),
    ]
    outcome = Ingestor(engine, LAYOUT).handle(
        events_topic(),
        batch(
            *(
                envelope(seq, payload, kind=kind, station=station, ts="2026-11-23T10:00:00Z")
                for seq, (kind, payload, station) in enumerate(floor, 1)
            )
        ),
    )
    assert outcome.applied == len(floor) and outcome.dead_lettered == 0
    with engine.begin() as conn:
        shipped = shipping.ship(conn, valves, NOW)
        first_pump = shipping.ship(conn, pumps, NOW, lines=[{"line_no": 1, "quantity": 1}])
    return {
        "valves": valves,
        "valve": valve,
        "seal": seal,
        "shipment": shipped["number"],
        "pumps": pumps,
        "pump": pump,
        "pump_shipment": first_pump["number"],
    }


@pytest.fixture
def made(engine: Engine) -> dict[str, str]:
    return plant(engine)


def test_backward_from_a_finished_lot_names_everything_that_went_into_it(
    engine: Engine, made: dict[str, str]
) -> None:
    with engine.connect() as conn:
        trace = genealogy.backward(conn, made["valve"])
    assert (trace["lot"], trace["serial"], trace["item"]["code"]) == (
        made["valve"],
        False,
        "VALVE-50",
    )
    order = trace["production_order"]
    assert order["work_order"] == made["valve"] and order["quantity"] == 4
    assert order["made_for"] == {
        "sales_order": made["valves"],
        "line_no": 1,
        "customer": {"code": "ACME", "name": "Acme Pumps"},
    }
    assert order["started_at"] is not None and order["completed_at"] is not None

    first, second = order["operations"]
    assert (first["operation"], first["work_center"]["code"], first["stations"]) == (
        "10",
        "ASSY",
        ["ST-20"],
    )
    assert [m["machine"] for m in first["machines"]] == ["ASSY-1"]
    crew = {o["badge"]: o for o in first["operators"]}
    assert crew["EMP-1"]["name"] == "Ana Ruiz" and crew["EMP-2"]["name"] == "Ben Okafor"
    assert (crew["EMP-1"]["good"], crew["EMP-1"]["labour_hours"]) == (3, 1.5)
    assert (crew["EMP-2"]["good"], crew["EMP-2"]["labour_hours"]) == (1, 0.5)
    assert (first["good"], first["scrap"]) == (4, 0)
    assert first["actual_start"] is not None and first["actual_end"] is not None
    assert [o["badge"] for o in second["operators"]] == ["EMP-2"]

    materials = {m["item"]: m for m in order["materials"]}
    assert materials["SEAL-50"]["lot"] == made["seal"]
    assert materials["SEAL-50"]["made_by"] == made["seal"]
    assert materials["BODY-50"]["made_by"] is None and materials["BODY-50"]["lot"] == "B-1"
    assert [o["name"] for o in materials["SEAL-50"]["operators"]] == ["Ana Ruiz", "Ben Okafor"]
    assert materials["SEAL-50"]["station"] == "ST-20"

    (check,) = order["inspections"]
    assert check["defects"] == [
        {"code": "SCRATCH", "description": "Scratch on the body", "quantity": 1}
    ]
    assert (check["operation"], check["disposition"], check["result"]) == ("20", "accept", "pass")
    assert check["inspector"] == {"badge": "QA-1", "name": "Chris Lee"}

    # the seal lot, made here, traced in turn: its rubber lot, press, machine, operator
    (seal,) = order["components"]
    assert (seal["work_order"], seal["lots"], seal["item"]) == (
        made["seal"],
        [made["seal"]],
        "SEAL-50",
    )
    assert seal["parent_work_order"] == made["valve"] and seal["made_for"] is None
    assert [(m["item"], m["lot"], m["quantity"]) for m in seal["materials"]] == [
        ("RUBBER", "R-7", 0.4)
    ]
    (press,) = seal["operations"]
    assert press["stations"] == ["ST-10"] and [m["machine"] for m in press["machines"]] == [
        "PRESS-1"
    ]
    assert [(o["badge"], o["good"]) for o in press["operators"]] == [("EMP-1", 4)]
    assert seal["components"] == []

    (shipment,) = trace["shipments"]
    assert shipment["shipment"] == made["shipment"] and shipment["quantity"] == 4
    assert shipment["customer"] == {"code": "ACME", "name": "Acme Pumps"}


def test_forward_from_a_bought_lot_reaches_the_finished_lot_and_its_customer(
    engine: Engine, made: dict[str, str]
) -> None:
    with engine.connect() as conn:
        trace = genealogy.forward(conn, "R-7")
    assert trace["item"]["code"] == "RUBBER" and trace["production_order"] is None
    levels = [(w["level"], w["work_order"], w["item"]) for w in trace["work_orders"]]
    assert levels == [(1, made["seal"], "SEAL-50"), (2, made["valve"], "VALVE-50")]
    assert trace["work_orders"][0]["consumed"][0]["quantity"] == 0.4
    lots = {r["lot"]: r for r in trace["lots"]}
    assert set(lots) == {made["seal"], made["valve"]}
    assert (lots[made["valve"]]["shipped"], lots[made["valve"]]["on_hand"]) == (4.0, 0.0)
    assert [(s["shipment"], s["lot"], s["work_order"]) for s in trace["shipments"]] == [
        (made["shipment"], made["valve"], made["valve"])
    ]
    assert trace["customers"] == [
        {
            "code": "ACME",
            "name": "Acme Pumps",
            "shipments": [made["shipment"]],
            "lots": [made["valve"]],
            "quantity": 4.0,
        }
    ]
    assert trace["totals"] == {
        "work_orders": 2,
        "lots": 2,
        "shipments": 1,
        "customers": 1,
        "shipped": 4.0,
        "on_hand": 0.0,
    }
    assert not trace["truncated"]


def test_forward_from_a_finished_lot_is_its_shipments(engine: Engine, made: dict[str, str]) -> None:
    with engine.connect() as conn:
        trace = genealogy.forward(conn, made["valve"])
    assert trace["production_order"] == made["valve"] and trace["work_orders"] == []
    assert [c["code"] for c in trace["customers"]] == ["ACME"]


def test_a_serial_is_traced_as_its_own_unit(engine: Engine, made: dict[str, str]) -> None:
    pump = made["pump"]
    with engine.connect() as conn:
        inspected = genealogy.backward(conn, f"{pump}-0002")
        shipped = genealogy.backward(conn, f"{pump}-0001")
        motor = genealogy.forward(conn, "M-3")
        with pytest.raises(NotFound):
            genealogy.backward(conn, f"{pump}-0003")  # only two were made
    assert inspected["serial"] and inspected["item"]["tracking"] == "serial"
    order = inspected["production_order"]
    assert order["work_order"] == pump and order["lots"] == [f"{pump}-0002"]
    assert [i["names_serial"] for i in order["inspections"]] == [True]
    assert order["inspections"][0]["serial"] == f"{pump}-0002"
    assert inspected["shipments"] == []
    assert [i["names_serial"] for i in shipped["production_order"]["inspections"]] == [False]
    assert [(s["lot"], s["customer"]["code"]) for s in shipped["shipments"]] == [
        (f"{pump}-0001", "BETA")
    ]
    # forward from the motors: both serials made, one shipped to Beta, one still on hand
    lots = {r["lot"]: (r["serial"], r["shipped"], r["on_hand"]) for r in motor["lots"]}
    assert lots == {f"{pump}-0001": (True, 1.0, 0.0), f"{pump}-0002": (True, 0.0, 1.0)}
    assert [(c["code"], c["lots"]) for c in motor["customers"]] == [("BETA", [f"{pump}-0001"])]


def test_a_bought_lot_traced_backward_is_its_purchase(engine: Engine, made: dict[str, str]) -> None:
    with engine.connect() as conn:
        trace = genealogy.backward(conn, "B-1")
    assert trace["production_order"] is None and trace["item"]["code"] == "BODY-50"
    assert [(p["reference"], p["quantity"]) for p in trace["purchases"]] == [("PO-32", 10.0)]


def test_an_unknown_lot_is_not_found(engine: Engine, made: dict[str, str]) -> None:
    with engine.connect() as conn:
        for trace in (genealogy.backward, genealogy.forward):
            with pytest.raises(NotFound) as caught:
                trace(conn, "NO-SUCH-LOT")
            assert caught.value.code == "not_found"


def test_crew_shares_add_up_per_operation_station_and_operator(engine: Engine) -> None:
    ingestor = Ingestor(engine, LAYOUT)
    later = {"period_start": "2026-11-23T10:00:00Z", "period_end": "2026-11-23T11:00:00Z"}
    ingestor.handle(
        events_topic(),
        batch(
            envelope(1, report("WO-X", "10", 3, ("EMP-1", 2, 1.0), ("EMP-2", 1, 1.0))),
            envelope(2, report("WO-X", "10", 1, ("EMP-1", 1, 0.5), **later)),
            envelope(3, report("WO-X", "10", 2)),  # no crew: nothing to fold
        ),
    )
    ingestor.handle(
        events_topic(), batch(envelope(4, report("WO-X", "10", 1, ("EMP-2", 1, 0.25), **later)))
    )
    with engine.connect() as conn:
        rows = conn.execute(select(operation_crews).order_by(operation_crews.c.operator)).all()
    got = [(r.station, r.operator, r.good, r.labour_hours) for r in rows]
    assert got == [("ST-1", "EMP-1", 3, 1.5), ("ST-1", "EMP-2", 2, 1.25)]
    # the first report's start is kept, the last one's end replaces
    assert {r.first_at.hour for r in rows} == {8} and {r.last_at.hour for r in rows} == {11}


def chain(engine: Engine, links: list[tuple[str, str]]) -> None:
    """Production orders of a made part, each ``(work order, lot)`` issuing that lot."""
    with engine.begin() as conn:
        part = _insert(conn, items, code="PART", description="Part", kind="make", tracking="lot")
        for wo in sorted({wo for wo, _ in links}):
            _insert(conn, production_orders, number=wo, item_id=part, quantity=1.0, received=1.0)
    issues = [
        envelope(seq, {**issue(wo, "PART", lot, 1), "operation": "10"}, kind="material_issue")
        for seq, (wo, lot) in enumerate(links, 1)
    ]
    assert Ingestor(engine, LAYOUT).handle(events_topic(), batch(*issues)).applied == len(links)


def test_a_deep_chain_is_followed_eight_levels_and_then_cut(engine: Engine) -> None:
    orders = [f"WO-C{n:02d}" for n in range(12)]
    chain(engine, [(orders[0], "RAW-1"), *zip(orders[1:], orders[:-1], strict=True)])
    with engine.connect() as conn:
        back = genealogy.backward(conn, orders[-1])
        ahead = genealogy.forward(conn, "RAW-1")
    node, depth = back["production_order"], 0
    while "operations" in node:
        (node,) = node["components"]
        depth += 1
    assert depth == genealogy.MAX_DEPTH + 1 and node["truncated"]
    assert node["work_order"] == orders[-1 - depth]
    assert [w["level"] for w in ahead["work_orders"]] == list(range(1, genealogy.MAX_DEPTH + 1))
    assert ahead["truncated"]


def test_a_cycle_in_the_records_ends_the_branch(engine: Engine) -> None:
    # A used B's lot and B used A's: impossible on the floor, but a mis-scan can record it
    chain(engine, [("WO-A", "WO-B"), ("WO-B", "WO-A")])
    with engine.connect() as conn:
        back = genealogy.backward(conn, "WO-A")
        ahead = genealogy.forward(conn, "WO-A")
    (b,) = back["production_order"]["components"]
    assert b["work_order"] == "WO-B"
    assert b["components"] == [{"work_order": "WO-A", "lots": ["WO-A"], "cycle": True}]
    assert [(w["work_order"], w["level"]) for w in ahead["work_orders"]] == [
        ("WO-B", 1),
        ("WO-A", 2),
    ]
    assert not ahead["truncated"]


def test_a_serial_order_receives_no_more_than_its_quantity_and_a_tenth(engine: Engine) -> None:
    """A wrong count from the floor (a million pumps on an order of two) numbers no million
    serials: the order receives its quantity and a tenth more (at least one); the report's
    count stays on the operation."""
    with engine.begin() as conn:
        master_data(conn)
        pumps = sales.create(
            conn,
            customer="BETA",
            type="make_to_order",
            lines=[{"item": "PUMP-1", "quantity": 2}],
            now=NOW,
        )
        (pump,) = sales.confirm(conn, pumps, NOW)["production_orders"]
    floor = [envelope(1, report(pump, "10", 1_000_000, operation_end=True), station="ST-20")]
    outcome = Ingestor(engine, LAYOUT).handle(events_topic(), batch(*floor))
    assert outcome.applied == 1
    with engine.connect() as conn:
        received = conn.execute(
            text("SELECT received FROM production_orders WHERE number = :n"), {"n": pump}
        ).scalar_one()
        serials = conn.execute(
            text("SELECT COUNT(DISTINCT lot) FROM stock_moves WHERE reference = :n"), {"n": pump}
        ).scalar_one()
        good = conn.execute(
            text("SELECT good FROM operation_tasks WHERE work_order = :n"), {"n": pump}
        ).scalar_one()
    assert (received, serials, good) == (3, 3, 1_000_000)
