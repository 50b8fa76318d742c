"""One example of every message of the contract, as it travels (the docs show these).

They are in canonical form: what ``encode`` writes for a model, with each payload and
command body as its own model dumps it (defaults included, ``None`` left out). The
golden files in ``tests/protocols/golden/`` pin the same messages.
"""

from __future__ import annotations

from typing import Any

import orjson

from protocols.contract.messages import encode_batch
from protocols.contract.topics import EdgeAddress

EDGE = EdgeAddress("plant1", "assembly", "line1", "edge1")
EDGE_ID = EDGE.path

WORK_ORDER = "WO-2026-000123"


def _envelope(
    event_id: str, seq: int, ts: str, kind: str, station: str, payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "v": 1,
        "event_id": event_id,
        "edge_id": EDGE_ID,
        "seq": seq,
        "ts": ts,
        "kind": kind,
        "station": station,
        "payload": payload,
    }


# One envelope per event kind: one shift's morning at station ST-10 of line 1.
ENVELOPES: dict[str, dict[str, Any]] = {
    "operator_login": _envelope(
        "4be6bca8-5699-4cb1-9fef-d5f853c8b629",
        40,
        "2026-03-02T06:00:12.348000Z",
        "operator_login",
        "ST-10",
        {"operator": "EMP-0042"},
    ),
    "material_issue": _envelope(
        "99de39e2-0e7e-499d-a3e3-132b0670cc9f",
        41,
        "2026-03-02T06:04:37.912000Z",
        "material_issue",
        "ST-10",
        {
            "work_order": WORK_ORDER,
            "operation": "OP-10",
            "item": "PCB-4471-A",
            "lot": "L260227-07",
            "quantity": 120.0,
            "unit": "pcs",
            "gtin": "04012345000122",
            "expiry": "2027-02-28",
            "operators": ["EMP-0042"],
        },
    ),
    "production_report": _envelope(
        "210d2f1c-cc3a-401b-b50e-a4b5a4532e93",
        42,
        "2026-03-02T07:00:03.105000Z",
        "production_report",
        "ST-10",
        {
            "work_order": WORK_ORDER,
            "operation": "OP-10",
            "good": 118,
            "scrap": 2,
            "rework": 1,
            "period_start": "2026-03-02T06:00:00Z",
            "period_end": "2026-03-02T07:00:00Z",
            "labour_hours": 2.0,
            "crew": [
                {"operator": "EMP-0042", "good": 60, "scrap": 1, "labour_hours": 1.0},
                {"operator": "EMP-0057", "good": 58, "scrap": 1, "labour_hours": 1.0},
            ],
            "source": "terminal",
            "operation_end": False,
        },
    ),
    "inspection": _envelope(
        "e8db92dc-6dd3-4a9f-a910-ec3e7dcc80d1",
        43,
        "2026-03-02T07:02:44.560000Z",
        "inspection",
        "ST-30",
        {
            "work_order": WORK_ORDER,
            "operation": "OP-30",
            "inspected": 20,
            "defects": [
                {"code": "D-SOLDER-BRIDGE", "quantity": 2},
                {"code": "D-MISSING-SCREW", "quantity": 1},
            ],
            "disposition": "rework",
            "inspector": "EMP-0107",
            "lot": "L260227-07",
            "check": "sample",
            "result": "fail",
            "rework_operation": "OP-20",
        },
    ),
    "machine_state": _envelope(
        "192bf400-3513-4eb9-b42e-66b9301d2d60",
        44,
        "2026-03-02T07:10:15.021000Z",
        "machine_state",
        "ST-20",
        {
            "machine": "M-PRESS-03",
            "state": "down",
            "reason": "hydraulic pressure low",
            "since": "2026-03-02T07:10:14.870000Z",
        },
    ),
    "operator_logout": _envelope(
        "75d854f1-6b46-428d-a157-9e9ad2716820",
        45,
        "2026-03-02T14:00:05.733000Z",
        "operator_logout",
        "ST-10",
        {"operator": "EMP-0042", "reason": "shift_end"},
    ),
    "scan": _envelope(
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        46,
        "2026-03-02T06:04:35.118000Z",
        "scan",
        "ST-10",
        {
            "device": "scanner-st10",
            "raw": "]C1010950110153000310LOT2026A\u001d1727123130250",
            "code": "gs1",
            "symbology": "]C1",
            "gtin": "09501101530003",
            "batch": "LOT2026A",
            "expiry": "2027-12-31",
            "count": 250,
        },
    ),
}

BATCH_KINDS = ("operator_login", "material_issue", "production_report")


def _batch() -> Any:
    envelopes = [orjson.dumps(ENVELOPES[kind]) for kind in BATCH_KINDS]
    return orjson.loads(encode_batch(EDGE_ID, envelopes))


ACK: dict[str, Any] = {
    "v": 1,
    "edge_id": EDGE_ID,
    "acked_seq": 42,
    "ts": "2026-03-02T07:00:03.377000Z",
}

PROBE_ID = "5f2c9a7e41b80d36"
# A restored edge asks where its sequence stands; central answers with its cursor.
PROBE: Any = orjson.loads(encode_batch(EDGE_ID, [], probe=PROBE_ID))
PROBE_ACK: dict[str, Any] = {
    "v": 1,
    "edge_id": EDGE_ID,
    "acked_seq": 42,
    "ts": "2026-03-02T07:12:45.031000Z",
    "probe": PROBE_ID,
}

STATUS_ONLINE: dict[str, Any] = {
    "v": 1,
    "edge_id": EDGE_ID,
    "state": "online",
    "ts": "2026-03-02T05:58:41.120000Z",
    "reason": "connected",
    "software": "floorsync-edge/0.1",
}

STATUS_OFFLINE: dict[str, Any] = {
    "v": 1,
    "edge_id": EDGE_ID,
    "state": "offline",
    "ts": "2026-03-02T14:05:09.731000Z",
    "reason": "shutdown",
    "software": "floorsync-edge/0.1",
}

COMMAND_DISPATCH_LIST: dict[str, Any] = {
    "v": 1,
    "command": "dispatch_list",
    "edge_id": EDGE_ID,
    "version": 17,
    "issued_at": "2026-03-01T16:30:00.250000Z",
    "body": {
        "orders": [
            {
                "work_order": WORK_ORDER,
                "item": "ASM-7710-B",
                "quantity": 120.0,
                "due": "2026-03-04",
                "sequence": 1,
                "operations": [
                    {
                        "operation": "OP-10",
                        "work_center": "WC-SMT-1",
                        "stations": ["ST-10"],
                        "planned_start": "2026-03-02T06:00:00Z",
                        "planned_end": "2026-03-02T09:30:00Z",
                        "quantity": 120.0,
                        "status": "running",
                        "good": 48,
                    },
                    {
                        "operation": "OP-30",
                        "work_center": "WC-QC-1",
                        "stations": ["ST-30"],
                        "planned_start": "2026-03-02T07:00:00Z",
                        "planned_end": "2026-03-02T11:00:00Z",
                        "quantity": 120.0,
                        "status": "pending",
                        "good": 0,
                    },
                ],
            },
            {
                "work_order": "WO-2026-000131",
                "item": "ASM-7720-A",
                "quantity": 40.0,
                "sequence": 2,
                "operations": [
                    {
                        "operation": "OP-10",
                        "work_center": "WC-SMT-1",
                        "stations": ["ST-10"],
                        "quantity": 40.0,
                        "status": "pending",
                        "good": 0,
                    }
                ],
            },
        ]
    },
}

COMMAND_MASTER_DATA: dict[str, Any] = {
    "v": 1,
    "command": "master_data",
    "edge_id": EDGE_ID,
    "version": 5,
    "issued_at": "2026-03-01T16:25:12.004000Z",
    "body": {
        "items": [
            {
                "item": "ASM-7710-B",
                "description": "controller assembly",
                "unit": "pcs",
                "tracking": "serial",
            },
            {
                "item": "PCB-4471-A",
                "description": "main board",
                "unit": "pcs",
                "tracking": "lot",
                "gtin": "04012345000122",
            },
        ],
        "bom": [
            {
                "item": "ASM-7710-B",
                "operation": "OP-10",
                "component": "PCB-4471-A",
                "quantity_per_unit": 1.0,
                "scrap_allowance": 0.0,
                "issue_tolerance": 0.02,
            }
        ],
        "routings": [
            {
                "item": "ASM-7710-B",
                "operation": "OP-10",
                "sequence": 10,
                "description": "place and solder",
                "work_center": "WC-SMT-1",
                "crew_size": 2,
                "inspection_required": False,
                "setup_minutes": 20.0,
                "run_minutes_per_unit": 1.5,
            },
            {
                "item": "ASM-7710-B",
                "operation": "OP-30",
                "sequence": 30,
                "description": "final inspection",
                "work_center": "WC-QC-1",
                "crew_size": 1,
                "inspection_required": True,
                "setup_minutes": 0.0,
                "run_minutes_per_unit": 0.5,
            },
        ],
        "defect_codes": [
            {"code": "D-SOLDER-BRIDGE", "description": "solder bridge"},
            {"code": "D-MISSING-SCREW", "description": "missing screw"},
        ],
        "operators": [
            {"badge": "EMP-0042", "name": "A. Novak", "skills": ["WC-SMT-1"]},
            {"badge": "EMP-0057", "name": "M. Rossi", "skills": ["WC-SMT-1"]},
            {"badge": "EMP-0107", "name": "K. Tanaka", "skills": ["WC-QC-1"]},
        ],
    },
}

EXAMPLES: dict[str, Any] = {
    **{f"envelope_{kind}": envelope for kind, envelope in ENVELOPES.items()},
    "batch": _batch(),
    "ack": ACK,
    "probe": PROBE,
    "probe_ack": PROBE_ACK,
    "status_online": STATUS_ONLINE,
    "status_offline": STATUS_OFFLINE,
    "command_dispatch_list": COMMAND_DISPATCH_LIST,
    "command_master_data": COMMAND_MASTER_DATA,
}
"""Every example by the name of its golden file (without ``.json``)."""
