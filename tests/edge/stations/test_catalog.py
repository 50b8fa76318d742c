"""Catalog: lookups over a dispatch list and master data shaped as central sends them."""

from __future__ import annotations

from typing import Any

import pytest

from edge.stations import Catalog, Refused
from protocols.contract.examples import COMMAND_DISPATCH_LIST, COMMAND_MASTER_DATA

DISPATCH: dict[str, Any] = {
    "orders": [
        {
            "work_order": "WO-2026-000130",
            "item": "ASM-7710-B",
            "quantity": 120.0,
            "sequence": 1,
            "operations": [
                {
                    "operation": "10",
                    "work_center": "WC-SMT-1",
                    "stations": ["ST-10"],
                    "quantity": 120.0,
                    "status": "done",
                },
                {
                    "operation": "20",
                    "work_center": "WC-SMT-1",
                    "stations": ["ST-10"],
                    "quantity": 120.0,
                },
                {
                    "operation": "30",
                    "work_center": "WC-QC-1",
                    "stations": ["ST-30"],
                    "quantity": 118.0,
                },
            ],
        }
    ]
}

MASTER: dict[str, Any] = {
    "items": [
        {"item": "ASM-7710-B", "description": "controller", "unit": "pcs", "tracking": "serial"},
        {
            "item": "PCB-4471-A",
            "description": "main board",
            "unit": "pcs",
            "tracking": "lot",
            "gtin": "4012345000122",
        },
    ],
    "bom": [
        {
            "item": "ASM-7710-B",
            "operation": "10",
            "component": "PCB-4471-A",
            "quantity_per_unit": 1.0,
            "scrap_allowance": 0.0,
            "issue_tolerance": 0.0,
        }
    ],
    "routings": [],
    "defect_codes": [{"code": "DEF-SOLDER", "description": "solder bridge"}],
    "operators": [{"badge": "EMP-0042", "name": "A. Novak", "skills": ["WC-SMT-1"]}],
}


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.from_master_data(DISPATCH, MASTER)


def test_order_and_its_operations(catalog: Catalog) -> None:
    order = catalog.order("WO-2026-000130")
    assert order.item == "ASM-7710-B"
    assert [op.operation for op in order.operations] == ["10", "20", "30"]
    assert catalog.operation("WO-2026-000130", "30").quantity == 118.0


def test_unknown_work_order_and_operation_are_refused(catalog: Catalog) -> None:
    with pytest.raises(Refused) as exc:
        catalog.order("WO-2026-999999")
    assert exc.value.reason_code == "unknown_work_order"
    assert "WO-2026-999999" in exc.value.message
    with pytest.raises(Refused) as exc:
        catalog.operation("WO-2026-000130", "99")
    assert exc.value.reason_code == "unknown_operation"


def test_operation_at_station_prefers_the_first_not_done(catalog: Catalog) -> None:
    assert catalog.operation_at("WO-2026-000130", "ST-10").operation == "20"
    assert catalog.operation_at("WO-2026-000130", "ST-30").operation == "30"
    with pytest.raises(Refused) as exc:
        catalog.operation_at("WO-2026-000130", "ST-99")
    assert exc.value.reason_code == "not_at_station"


def test_item_by_gtin_takes_gtin_13_and_gtin_14(catalog: Catalog) -> None:
    assert catalog.item_by_gtin("04012345000122").item == "PCB-4471-A"
    assert catalog.item_by_gtin("4012345000122").item == "PCB-4471-A"
    with pytest.raises(Refused) as exc:
        catalog.item_by_gtin("04012345000139")
    assert exc.value.reason_code == "unknown_gtin"


def test_items_keep_their_unit_and_tracking(catalog: Catalog) -> None:
    assert catalog.items["PCB-4471-A"].tracking == "lot"
    assert catalog.items["ASM-7710-B"].gtin is None


def test_bom_lines_of_item_and_operation(catalog: Catalog) -> None:
    (line,) = catalog.bom_lines("ASM-7710-B", "10")
    assert (line.component, line.quantity_per_unit) == ("PCB-4471-A", 1.0)
    assert catalog.bom_lines("ASM-7710-B", "20") == ()


def test_operator_by_badge(catalog: Catalog) -> None:
    assert catalog.operator("EMP-0042").skills == frozenset({"WC-SMT-1"})
    with pytest.raises(Refused) as exc:
        catalog.operator("EMP-0001")
    assert exc.value.reason_code == "unknown_badge"
    assert exc.value.message == "Badge EMP-0001 is not known here. Ask your supervisor."


def test_defect_codes(catalog: Catalog) -> None:
    assert catalog.is_defect_code("DEF-SOLDER")
    assert not catalog.is_defect_code("DEF-NOPE")
    assert catalog.defect_code("DEF-SOLDER") == "solder bridge"
    with pytest.raises(Refused) as exc:
        catalog.defect_code("DEF-NOPE")
    assert exc.value.reason_code == "unknown_defect_code"


def test_a_malformed_master_data_row_is_named() -> None:
    broken = {**MASTER, "bom": [{"item": "ASM-7710-B", "operation": "10"}]}
    with pytest.raises(ValueError, match=r"master data bom\[0\]: bad or missing 'component'"):
        Catalog.from_master_data(DISPATCH, broken)


def test_empty_caches_make_an_empty_catalog() -> None:
    catalog = Catalog.from_master_data({"orders": []}, {})
    assert not catalog.orders
    assert not catalog.is_defect_code("DEF-SOLDER")


def test_the_contracts_golden_dispatch_and_master_data_load_as_central_sends_them() -> None:
    catalog = Catalog.from_master_data(COMMAND_DISPATCH_LIST["body"], COMMAND_MASTER_DATA["body"])
    assert catalog.item_by_gtin("04012345000122").item == "PCB-4471-A"
    [line] = catalog.bom_lines("ASM-7710-B", "OP-10")
    assert (line.component, line.issue_tolerance) == ("PCB-4471-A", 0.02)
    assert catalog.operator("EMP-0107").skills == frozenset({"WC-QC-1"})
