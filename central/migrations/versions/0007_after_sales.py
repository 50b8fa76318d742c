"""the customer side: crews per operation for genealogy, tickets and SLAs, repairs, RFM, order links

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
CHUNK = 10_000


def upgrade() -> None:
    op.create_table(
        "operation_crews",
        sa.Column("work_order", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("good", sa.BigInteger(), nullable=False),
        sa.Column("scrap", sa.BigInteger(), nullable=False),
        sa.Column("labour_hours", sa.Float(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "work_order", "operation", "station", "operator", name=op.f("pk_operation_crews")
        ),
    )
    _fold_crews()
    op.create_table(
        "reply_templates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_templates")),
        sa.UniqueConstraint("code", name=op.f("uq_reply_templates_code")),
    )
    op.create_table(
        "rfm_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "trigger IN ('scheduled', 'on_demand')", name=op.f("ck_rfm_runs_trigger")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfm_runs")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("response_hours", sa.Float(), nullable=False),
        sa.Column("resolution_hours", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_sla_policies_priority")
        ),
        sa.CheckConstraint(
            "response_hours > 0 AND resolution_hours > 0", name=op.f("ck_sla_policies_hours")
        ),
        sa.PrimaryKeyConstraint("priority", name=op.f("pk_sla_policies")),
    )
    # the defaults an admin can change: hours to first answer and to resolution
    op.bulk_insert(
        sa.table(
            "sla_policies",
            sa.column("priority", sa.String),
            sa.column("response_hours", sa.Float),
            sa.column("resolution_hours", sa.Float),
        ),
        [
            {"priority": "urgent", "response_hours": 1.0, "resolution_hours": 8.0},
            {"priority": "high", "response_hours": 4.0, "resolution_hours": 24.0},
            {"priority": "normal", "response_hours": 8.0, "resolution_hours": 72.0},
            {"priority": "low", "response_hours": 24.0, "resolution_hours": 168.0},
        ],
    )
    op.create_table(
        "technicians",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("territory", sa.String(length=64), nullable=True),
        sa.Column("hourly_rate_cents", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technicians")),
        sa.UniqueConstraint("code", name=op.f("uq_technicians_code")),
    )
    op.create_table(
        "rfm_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("previous", sa.String(length=32), nullable=True),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_rfm_history_customer_id")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["rfm_runs.id"], name=op.f("fk_rfm_history_run_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rfm_history")),
    )
    with op.batch_alter_table("rfm_history", schema=None) as batch_op:
        batch_op.create_index("ix_rfm_history_customer_at", ["customer_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rfm_history_run_id"), ["run_id"], unique=False)

    op.create_table(
        "rfm_scores",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_cents", sa.BigInteger(), nullable=False),
        sa.Column("r", sa.Integer(), nullable=False),
        sa.Column("f", sa.Integer(), nullable=False),
        sa.Column("m", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_rfm_scores_customer_id")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["rfm_runs.id"], name=op.f("fk_rfm_scores_run_id")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_rfm_scores")),
    )
    with op.batch_alter_table("rfm_scores", schema=None) as batch_op:
        batch_op.create_index("ix_rfm_scores_segment", ["segment"], unique=False)

    op.create_table(
        "order_links",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "sales_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_order_links_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["sales_order_id"], ["sales_orders.id"], name=op.f("fk_order_links_sales_order_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_order_links_token_hash")),
    )
    with op.batch_alter_table("order_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_links_sales_order_id"), ["sales_order_id"], unique=False
        )

    op.create_table(
        "service_tickets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "sales_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column(
            "assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("corrective_action", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('phone', 'email', 'chat', 'portal')",
            name=op.f("ck_service_tickets_channel"),
        ),
        sa.CheckConstraint(
            "kind IN ('complaint', 'inquiry', 'warranty_claim')",
            name=op.f("ck_service_tickets_kind"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_service_tickets_priority"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'waiting', 'resolved', 'closed')",
            name=op.f("ck_service_tickets_status"),
        ),
        sa.CheckConstraint(
            "satisfaction BETWEEN 1 AND 5", name=op.f("ck_service_tickets_satisfaction")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_service_tickets_assignee_id")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_service_tickets_contact_id")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_service_tickets_customer_id")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_service_tickets_item_id")),
        sa.ForeignKeyConstraint(
            ["sales_order_id"], ["sales_orders.id"], name=op.f("fk_service_tickets_sales_order_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_tickets")),
        sa.UniqueConstraint("number", name=op.f("uq_service_tickets_number")),
    )
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_tickets_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_tickets_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_tickets_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_tickets_customer_status", ["customer_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_tickets_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_tickets_sales_order_id"), ["sales_order_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_tickets_status_resolution_due", ["status", "resolution_due"], unique=False
        )

    op.create_table(
        "repair_orders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.Column("diagnosis", sa.Text(), nullable=True),
        sa.Column("required_skills", sa.JSON(), nullable=False),
        sa.Column("site_address", sa.Text(), nullable=True),
        sa.Column("territory", sa.String(length=64), nullable=True),
        sa.Column(
            "technician_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warranty_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("under_warranty", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('in_shop', 'field')", name=op.f("ck_repair_orders_kind")),
        sa.CheckConstraint(
            "status IN ('open', 'assigned', 'in_progress', 'done', 'closed', 'cancelled')",
            name=op.f("ck_repair_orders_status"),
        ),
        sa.CheckConstraint(
            "satisfaction BETWEEN 1 AND 5", name=op.f("ck_repair_orders_satisfaction")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_repair_orders_customer_id")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_repair_orders_item_id")),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["technicians.id"], name=op.f("fk_repair_orders_technician_id")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["service_tickets.id"], name=op.f("fk_repair_orders_ticket_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_repair_orders_number")),
    )
    with op.batch_alter_table("repair_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repair_orders_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_repair_orders_customer_status", ["customer_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_repair_orders_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_repair_orders_technician_id"), ["technician_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_repair_orders_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_notes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_ticket_notes_author_id")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["service_tickets.id"], name=op.f("fk_ticket_notes_ticket_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_notes_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "repair_labour",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "repair_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "technician_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("rate_cents", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("hours > 0", name=op.f("ck_repair_labour_hours")),
        sa.ForeignKeyConstraint(
            ["repair_order_id"], ["repair_orders.id"], name=op.f("fk_repair_labour_repair_order_id")
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["technicians.id"], name=op.f("fk_repair_labour_technician_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_labour")),
    )
    with op.batch_alter_table("repair_labour", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repair_labour_repair_order_id"), ["repair_order_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repair_labour_technician_id"), ["technician_id"], unique=False
        )

    op.create_table(
        "repair_parts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "repair_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("unit_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_repair_parts_quantity")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_repair_parts_item_id")),
        sa.ForeignKeyConstraint(
            ["repair_order_id"], ["repair_orders.id"], name=op.f("fk_repair_parts_repair_order_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_parts")),
    )
    with op.batch_alter_table("repair_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repair_parts_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_repair_parts_repair_order_id"), ["repair_order_id"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("territory", sa.String(length=64), nullable=True))

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warranty_months", sa.Integer(), server_default="12", nullable=False)
        )

    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_lines_lot"), ["lot"], unique=False)


def _fold_crews() -> None:
    """Who worked on what so far, from the production reports already stored, so lots made
    before this upgrade trace with their crews too (ingest keeps the table from now on)."""
    events = sa.table(
        "events",
        sa.column("id", sa.BigInteger),
        sa.column("kind", sa.String),
        sa.column("station", sa.String),
        sa.column("payload", sa.JSON),
    )
    conn = op.get_bind()
    # (work order, operation, station, operator) -> [good, scrap, hours, first, last]
    folded: dict[tuple[str, str, str, str], list[Any]] = {}
    last = 0
    while True:  # in chunks by id: a plant's log may hold millions of events
        rows = conn.execute(
            sa.select(events.c.id, events.c.station, events.c.payload)
            .where(events.c.kind == "production_report", events.c.id > last)
            .order_by(events.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        for row in rows:
            p = row.payload
            if not p.get("crew"):
                continue
            start = datetime.fromisoformat(p["period_start"]).astimezone(UTC)
            end = datetime.fromisoformat(p["period_end"]).astimezone(UTC)
            for share in p["crew"]:
                key = (p["work_order"], p["operation"], row.station, share["operator"])
                crew = folded.setdefault(key, [0, 0, 0.0, start, end])
                crew[0] += share["good"]
                crew[1] += share["scrap"]
                crew[2] += share["labour_hours"]
                crew[3], crew[4] = min(crew[3], start), max(crew[4], end)
    crews = sa.table(
        "operation_crews",
        *(sa.column(c) for c in ("work_order", "operation", "station", "operator")),
        *(sa.column(c) for c in ("good", "scrap", "labour_hours", "first_at", "last_at")),
    )
    names = ("good", "scrap", "labour_hours", "first_at", "last_at")
    rows_out = [
        {
            "work_order": w,
            "operation": o,
            "station": s,
            "operator": b,
            **dict(zip(names, v, strict=True)),
        }
        for (w, o, s, b), v in folded.items()
    ]
    for i in range(0, len(rows_out), CHUNK):
        conn.execute(sa.insert(crews), rows_out[i : i + CHUNK])


def downgrade() -> None:
    with op.batch_alter_table("shipment_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_lines_lot"))

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("warranty_months")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("territory")

    with op.batch_alter_table("repair_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_parts_repair_order_id"))
        batch_op.drop_index(batch_op.f("ix_repair_parts_item_id"))

    op.drop_table("repair_parts")
    with op.batch_alter_table("repair_labour", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_labour_technician_id"))
        batch_op.drop_index(batch_op.f("ix_repair_labour_repair_order_id"))

    op.drop_table("repair_labour")
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_notes_ticket_id"))

    op.drop_table("ticket_notes")
    with op.batch_alter_table("repair_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repair_orders_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_repair_orders_technician_id"))
        batch_op.drop_index(batch_op.f("ix_repair_orders_item_id"))
        batch_op.drop_index("ix_repair_orders_customer_status")
        batch_op.drop_index(batch_op.f("ix_repair_orders_customer_id"))

    op.drop_table("repair_orders")
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_service_tickets_status_resolution_due")
        batch_op.drop_index(batch_op.f("ix_service_tickets_sales_order_id"))
        batch_op.drop_index(batch_op.f("ix_service_tickets_item_id"))
        batch_op.drop_index("ix_service_tickets_customer_status")
        batch_op.drop_index(batch_op.f("ix_service_tickets_customer_id"))
        batch_op.drop_index(batch_op.f("ix_service_tickets_contact_id"))
        batch_op.drop_index(batch_op.f("ix_service_tickets_assignee_id"))

    op.drop_table("service_tickets")
    with op.batch_alter_table("order_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_links_sales_order_id"))

    op.drop_table("order_links")
    with op.batch_alter_table("rfm_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_rfm_scores_segment")

    op.drop_table("rfm_scores")
    with op.batch_alter_table("rfm_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rfm_history_run_id"))
        batch_op.drop_index("ix_rfm_history_customer_at")

    op.drop_table("rfm_history")
    op.drop_table("technicians")
    op.drop_table("sla_policies")
    op.drop_table("rfm_runs")
    op.drop_table("reply_templates")
    op.drop_table("operation_crews")
