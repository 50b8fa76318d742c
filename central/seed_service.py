"""The demo company's service desk: technicians, reply templates, a complaint about a
shipped valve and the field repair it led to, so the customer 360 shows after-sales too."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from central.aftersales import repairs, tickets
from central.db.aftersales import reply_templates, technicians
from central.db.domain import customers, sales_orders, shipment_lines, shipments

TECHNICIANS = [
    ("TEC-KLEIN", "Martin Klein", ["valves", "hydraulics"], "DE-WEST", 6_500),
    ("TEC-NOWAK", "Ewa Nowak", ["valves", "electrical"], "PL", 5_200),
    ("TEC-SHOP", "Workshop bench", ["valves", "pumps", "electrical"], None, 4_800),
]
TEMPLATES = [
    (
        "ACK-LEAK",
        "Leak reported: we are on it",
        "Dear {contact},\n\nthank you for reporting the leak ({ticket}: {subject}). A "
        "technician will contact you within one working day to arrange a visit.\n\n"
        "Kind regards,\nFloorSync Valves service",
        ["leak", "leaking", "seal", "stem", "valve"],
    ),
    (
        "WARRANTY-OK",
        "Covered by warranty",
        "Dear {contact},\n\nthe unit in {ticket} is within its warranty: parts and labour "
        "are free of charge.\n\nKind regards,\nFloorSync Valves service",
        ["warranty", "free", "covered"],
    ),
    (
        "DELIVERY-DATE",
        "When your order ships",
        "Dear {contact},\n\nyou can follow your order's progress and expected ship date at "
        "any time through the link we sent with the order confirmation.\n\n"
        "Kind regards,\n{customer} account team",
        ["delivery", "date", "when", "progress", "ship"],
    ),
]


def load_service_desk(conn: Connection, now: datetime) -> None:
    conn.execute(
        update(customers).where(customers.c.code == "RHEINPMP").values(territory="DE-WEST")
    )
    conn.execute(update(customers).where(customers.c.code == "POLTECH").values(territory="PL"))
    conn.execute(
        insert(technicians),
        [
            {
                "code": c,
                "name": n,
                "skills": s,
                "territory": t,
                "hourly_rate_cents": r,
                "active": True,
            }
            for c, n, s, t, r in TECHNICIANS
        ],
    )
    conn.execute(
        insert(reply_templates),
        [{"code": c, "title": t, "body": b, "keywords": k} for c, t, b, k in TEMPLATES],
    )
    # the valves shipped to Rheinland Pumpen last week: one leaks at the stem
    lot = conn.execute(
        select(shipment_lines.c.lot)
        .join(shipments, shipments.c.id == shipment_lines.c.shipment_id)
        .join(sales_orders, sales_orders.c.id == shipments.c.sales_order_id)
        .join(customers, customers.c.id == sales_orders.c.customer_id)
        .where(customers.c.code == "RHEINPMP")
        .limit(1)
    ).scalar_one_or_none()
    opened = now - timedelta(hours=30)
    ticket = tickets.open_ticket(
        conn,
        customer="RHEINPMP",
        kind="warranty_claim",
        channel="phone",
        priority="high",
        subject="DN25 ball valve leaks at the stem",
        description="Leak at the stem packing after two days in service, line 3.",
        item="VLV-BALL-25",
        lot=lot or None,
        now=opened,
    )
    tickets.start(conn, ticket)
    repair = repairs.create(
        conn,
        kind="field",
        fault="Stem packing leaks",
        ticket=ticket,
        required_skills=["valves"],
        site_address="Industriestraße 40, 50735 Köln",
        now=opened + timedelta(hours=2),
    )
    repairs.assign(conn, repair)  # the technician for DE-WEST with the skill
