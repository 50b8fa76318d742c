"""The demo company's service desk and sales pipeline: technicians, reply templates, a
complaint about a shipped valve and the field repair it led to, opportunities in every
stage and fresh leads, so the customer 360, the board and my day show work at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from central.aftersales import repairs, tickets
from central.crm import leads, opportunities
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


DEALS = [  # customer, name, stage, amount, days to close, competitors
    (
        "NORDHYD",
        "Ball valves for the 2027 frame agreement",
        "negotiation",
        18_400_000,
        20,
        ["Valvex"],
    ),
    ("POLTECH", "Gate valves, water works Kraków", "proposal", 9_600_000, 45, []),
    ("BLUEWTR", "Spare impellers, yearly", "analysis", 2_150_000, 60, ["PumpCo"]),
    ("ALPCHEM", "Engineered valves, phase 2", "qualify", 31_000_000, 120, []),
    ("CASCADE", "Service contract renewal", "negotiation", 1_200_000, 10, []),
    ("RHEINPMP", "DN25 valves for line 4", "won", 1_890_000, -7, []),
]
LEADS = [
    ("web_form", "Fjord Aqua AS", "Ingrid Berg", "ingrid@fjordaqua.example", "valves"),
    ("trade_show", "Danubia Pumpen Kft", "Gábor Kiss", "kiss@danubia.example", "pumps"),
]


def load_sales_pipeline(conn: Connection, now: datetime) -> None:
    """Opportunities in every stage and two fresh leads, so the board and my day show work."""
    ids = dict(conn.execute(select(customers.c.code, customers.c.id)).all())
    for code, name, stage, amount, days, rivals in DEALS:
        number = opportunities.create(
            conn,
            name=name,
            customer_id=ids[code],
            amount_cents=amount,
            expected_close=(now + timedelta(days=days)).date(),
            by_id=None,
            now=now - timedelta(days=30),
            stage="negotiation" if stage == "won" else stage,
            competitors=rivals,
        )
        if stage == "won":  # a deal closes by moving, as on the board
            opportunities.move(conn, number, "won", lost_reason=None, by_id=None, now=now)
    for source, company, person, email, line in LEADS:
        leads.create(
            conn,
            {"company": company, "contact_name": person, "email": email, "product_line": line},
            source=source,
            now=now - timedelta(days=1),
        )
