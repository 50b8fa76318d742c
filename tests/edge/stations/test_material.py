"""Material issue: BOM, expiry, quantity and over-issue rules, and a valid payload."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from edge.stations import Catalog, LotScan, Refused, check_issue
from edge.stations.catalog import BomLine
from edge.stations.material import requirement
from protocols.barcode import parse_scan
from protocols.contract import payload_model

WO = "WO-2026-000130"
BOARD = "04012345000122"
SCREW = "04012345000139"
TODAY = date(2026, 3, 2)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.from_master_data(
        {
            "orders": [
                {
                    "work_order": WO,
                    "item": "ASM-7710-B",
                    "quantity": 100.0,
                    "sequence": 1,
                    "operations": [
                        {"operation": "10", "work_center": "WC-SMT-1", "quantity": 100.0},
                        {"operation": "20", "work_center": "WC-ASM-1", "quantity": 100.0},
                    ],
                }
            ]
        },
        {
            "items": [
                {"item": "PCB-4471-A", "unit": "pcs", "gtin": BOARD},
                {"item": "SCR-M3-8", "unit": "pcs", "gtin": SCREW},
            ],
            "bom": [
                {
                    "item": "ASM-7710-B",
                    "operation": "10",
                    "component": "PCB-4471-A",
                    "quantity_per_unit": 1.0,
                    "scrap_allowance": 0.02,
                    "issue_tolerance": 0.05,
                },
                {
                    "item": "ASM-7710-B",
                    "operation": "20",
                    "component": "SCR-M3-8",
                    "quantity_per_unit": 4.0,
                },
            ],
        },
    )


def issue(catalog: Catalog, lot: LotScan, issued: float = 0.0, **kw: Any) -> dict[str, Any]:
    return check_issue(catalog, WO, "10", lot, issued, TODAY, **kw)


def refusal(catalog: Catalog, lot: LotScan, issued: float = 0.0, **kw: Any) -> Refused:
    with pytest.raises(Refused) as exc:
        issue(catalog, lot, issued, **kw)
    return exc.value


def test_requirement_includes_the_scrap_allowance() -> None:
    line = BomLine("ASM", "10", "PCB", 2.0, scrap_allowance=0.1)
    assert requirement(line, 50.0) == pytest.approx(110.0)


def test_a_lot_of_a_bom_component_is_accepted(catalog: Catalog) -> None:
    lot = LotScan(BOARD, "L2402", date(2026, 9, 30), 50.0)
    payload = issue(catalog, lot, operators=["EMP-0042"])
    assert payload == {
        "work_order": WO,
        "operation": "10",
        "item": "PCB-4471-A",
        "lot": "L2402",
        "quantity": 50.0,
        "unit": "pcs",
        "gtin": BOARD,
        "expiry": "2026-09-30",
        "operators": ["EMP-0042"],
    }
    payload_model("material_issue").model_validate(payload)


def test_a_scanned_gs1_label_becomes_a_lot_scan(catalog: Catalog) -> None:
    scan = parse_scan(f"]C101{BOARD}10L2402<GS>17260930<GS>3050")
    lot = LotScan.from_scan(scan)
    assert lot == LotScan(BOARD, "L2402", date(2026, 9, 30), 50)
    assert LotScan.from_scan(scan, quantity=20.0).quantity == 20.0
    payload_model("material_issue").model_validate(issue(catalog, lot))


def test_item_not_in_this_operations_bom_is_refused(catalog: Catalog) -> None:
    refused = refusal(catalog, LotScan(SCREW, "S1", None, 100.0))
    assert refused.reason_code == "not_in_bom"
    assert refused.message == f"Wrong material: SCR-M3-8 is not used at 10 of {WO}."


def test_unknown_gtin_and_label_without_gtin_are_refused(catalog: Catalog) -> None:
    assert refusal(catalog, LotScan("04012345000146", "X", None, 1.0)).reason_code == "unknown_gtin"
    assert refusal(catalog, LotScan(None, "X", None, 1.0)).reason_code == "no_gtin"


def test_label_without_lot_is_refused(catalog: Catalog) -> None:
    assert refusal(catalog, LotScan(BOARD, None, None, 1.0)).reason_code == "no_lot"


def test_expired_lot_is_refused_but_the_expiry_day_itself_is_usable(catalog: Catalog) -> None:
    refused = refusal(catalog, LotScan(BOARD, "OLD", date(2026, 3, 1), 10.0))
    assert refused.reason_code == "lot_expired"
    assert "2026-03-01" in refused.message
    payload_model("material_issue").model_validate(
        issue(catalog, LotScan(BOARD, "LAST", TODAY, 10.0))
    )


def test_missing_quantity_asks_for_it(catalog: Catalog) -> None:
    refused = refusal(catalog, LotScan(BOARD, "L1", None, None))
    assert refused.reason_code == "quantity_needed"
    assert "Enter the quantity" in refused.message


def test_zero_quantity_is_refused(catalog: Catalog) -> None:
    assert refusal(catalog, LotScan(BOARD, "L1", None, 0.0)).reason_code == "bad_quantity"


# requirement 100 * 1.0 * 1.02 = 102, tolerance 5 % of that = 5.1, so at most 107.1 at first
@pytest.mark.parametrize(
    ("issued", "quantity"), [(0.0, 102.0), (0.0, 107.1), (100.0, 7.1), (102.0, 5.1), (107.0, 0.1)]
)
def test_up_to_requirement_plus_tolerance(catalog: Catalog, issued: float, quantity: float) -> None:
    lot = LotScan(BOARD, "L1", None, quantity)
    payload = issue(catalog, lot, issued)
    assert "over_issue_approved_by" not in payload


@pytest.mark.parametrize(
    ("issued", "quantity"), [(0.0, 107.2), (100.0, 7.2), (107.1, 0.1), (110.0, 1.0)]
)
def test_over_issue_is_refused(catalog: Catalog, issued: float, quantity: float) -> None:
    refused = refusal(catalog, LotScan(BOARD, "L1", None, quantity), issued)
    assert refused.reason_code == "over_issue"
    assert "supervisor" in refused.message


def test_over_issue_message_says_how_much_is_still_needed(catalog: Catalog) -> None:
    refused = refusal(catalog, LotScan(BOARD, "L1", None, 30.0), 80.0)
    assert refused.message == (
        "Too much: only 22 pcs of PCB-4471-A still needed (at most 27.1 pcs with tolerance), "
        "not 30 pcs. A supervisor can approve."
    )


def test_over_issue_approved_by_a_supervisor_is_recorded(catalog: Catalog) -> None:
    payload = issue(catalog, LotScan(BOARD, "L1", None, 200.0), 0.0, approved_by="EMP-0900")
    assert payload["over_issue_approved_by"] == "EMP-0900"
    payload_model("material_issue").model_validate(payload)


def test_an_approval_not_needed_is_not_recorded(catalog: Catalog) -> None:
    payload = issue(catalog, LotScan(BOARD, "L1", None, 10.0), 0.0, approved_by="EMP-0900")
    assert "over_issue_approved_by" not in payload


def test_unknown_order_or_operation_is_refused(catalog: Catalog) -> None:
    lot = LotScan(BOARD, "L1", None, 1.0)
    with pytest.raises(Refused) as exc:
        check_issue(catalog, "WO-2026-000999", "10", lot, 0.0, TODAY)
    assert exc.value.reason_code == "unknown_work_order"
    with pytest.raises(Refused) as exc:
        check_issue(catalog, WO, "90", lot, 0.0, TODAY)
    assert exc.value.reason_code == "unknown_operation"
