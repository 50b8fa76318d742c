"""the sales pipeline: leads, opportunities by stage, quotes that become orders, follow-ups

Customers gain an owner (account manager), a tier and a parent account.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from central.crm.names import name_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_stages",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.CheckConstraint("outcome IN ('won', 'lost')", name=op.f("ck_pipeline_stages_outcome")),
        sa.CheckConstraint(
            "probability >= 0 AND probability <= 1", name=op.f("ck_pipeline_stages_probability")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_pipeline_stages")),
        sa.UniqueConstraint("position", name=op.f("uq_pipeline_stages_position")),
    )
    # the stages a plant starts with; admins change them (probabilities weigh the forecast)
    op.bulk_insert(
        sa.table(
            "pipeline_stages",
            sa.column("code", sa.String),
            sa.column("name", sa.String),
            sa.column("position", sa.Integer),
            sa.column("probability", sa.Float),
            sa.column("outcome", sa.String),
        ),
        [
            {
                "code": "qualify",
                "name": "Qualify",
                "position": 10,
                "probability": 0.1,
                "outcome": None,
            },
            {
                "code": "analysis",
                "name": "Needs analysis",
                "position": 20,
                "probability": 0.25,
                "outcome": None,
            },
            {
                "code": "proposal",
                "name": "Proposal",
                "position": 30,
                "probability": 0.5,
                "outcome": None,
            },
            {
                "code": "negotiation",
                "name": "Negotiation",
                "position": 40,
                "probability": 0.75,
                "outcome": None,
            },
            {"code": "won", "name": "Won", "position": 90, "probability": 1.0, "outcome": "won"},
            {"code": "lost", "name": "Lost", "position": 99, "probability": 0.0, "outcome": "lost"},
        ],
    )
    op.create_table(
        "assignment_rules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("territory", sa.String(length=64), nullable=True),
        sa.Column("product_line", sa.String(length=64), nullable=True),
        sa.Column("tier", sa.String(length=1), nullable=True),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_assignment_rules_owner_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_rules")),
        sa.UniqueConstraint("position", name=op.f("uq_assignment_rules_position")),
    )
    with op.batch_alter_table("assignment_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assignment_rules_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "opportunities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("product_line", sa.String(length=64), nullable=True),
        sa.Column("competitors", sa.JSON(), nullable=False),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_opportunities_contact_id")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_opportunities_customer_id")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_opportunities_owner_id")),
        sa.ForeignKeyConstraint(
            ["stage"], ["pipeline_stages.code"], name=op.f("fk_opportunities_stage")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint("number", name=op.f("uq_opportunities_number")),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunities_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_opportunities_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_opportunities_owner_close", ["owner_id", "expected_close"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_opportunities_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_opportunities_stage_close",
            ["stage", "expected_close", "amount_cents", "owner_id"],
            unique=False,
        )

    op.create_table(
        "leads",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("territory", sa.String(length=64), nullable=True),
        sa.Column("product_line", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("budget_cents", sa.BigInteger(), nullable=True),
        sa.Column("authority", sa.Boolean(), nullable=True),
        sa.Column("need", sa.Text(), nullable=True),
        sa.Column("timeframe", sa.String(length=64), nullable=True),
        sa.Column("disqualified_reason", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "opportunity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('web_form', 'import', 'manual', 'referral', 'trade_show')",
            name=op.f("ck_leads_source"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'contacted', 'qualified', 'disqualified', 'converted')",
            name=op.f("ck_leads_status"),
        ),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_leads_contact_id")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_leads_customer_id")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_leads_opportunity_id")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_leads_owner_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("number", name=op.f("uq_leads_number")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leads_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_leads_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_leads_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_leads_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "opportunity_stages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "opportunity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("previous", sa.String(length=64), nullable=True),
        sa.Column("by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_opportunity_stages_by_id")),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_stages_opportunity_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_stages")),
    )
    with op.batch_alter_table("opportunity_stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opportunity_stages_by_id"), ["by_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_opportunity_stages_opportunity_id"), ["opportunity_id"], unique=False
        )

    op.create_table(
        "quotes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "opportunity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("order_type", sa.String(length=24), nullable=False),
        sa.Column("technical_specs", sa.JSON(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "approved_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "sales_order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'pending_approval', 'approved', 'sent', 'accepted', "
            "'rejected', 'expired', 'superseded')",
            name=op.f("ck_quotes_status"),
        ),
        sa.ForeignKeyConstraint(["approved_by"], ["users.id"], name=op.f("fk_quotes_approved_by")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_quotes_created_by")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_quotes_customer_id")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_quotes_opportunity_id")
        ),
        sa.ForeignKeyConstraint(
            ["sales_order_id"], ["sales_orders.id"], name=op.f("fk_quotes_sales_order_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("number", "version", name="uq_quotes_number_version"),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_approved_by"), ["approved_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_quotes_created_by"), ["created_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_quotes_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_quotes_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_quotes_sales_order_id"), ["sales_order_id"], unique=False
        )
        batch_op.create_index("ix_quotes_status_valid", ["status", "valid_until"], unique=False)

    op.create_table(
        "quote_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("quote_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("list_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("discount_pct", sa.Float(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("technical_specs", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "discount_pct >= 0 AND discount_pct <= 100", name=op.f("ck_quote_lines_discount")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_quote_lines_quantity")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_quote_lines_item_id")),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_quote_lines_quote_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_lines")),
        sa.UniqueConstraint("quote_id", "line_no", name="uq_quote_lines_quote_line"),
    )
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_lines_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quote_lines_quote_id"), ["quote_id"], unique=False)

    op.create_table(
        "tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "opportunity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("quote_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('call', 'email', 'visit', 'meeting', 'renewal', 'quote_follow_up', 'other')",
            name=op.f("ck_tasks_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_tasks_customer_id")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_tasks_opportunity_id")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_tasks_owner_id")),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_tasks_quote_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tasks_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index("ix_tasks_owner_due", ["owner_id", "done_at", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_quote_id"), ["quote_id"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier", sa.String(length=1), nullable=True))
        batch_op.add_column(
            sa.Column(
                "owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_customers_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customers_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_parent_id"), "customers", ["parent_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_owner_id"), "users", ["owner_id"], ["id"]
        )

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "entity IN ('customer', 'contact', 'opportunity', 'quote', 'sales_order')",
            name=op.f("ck_audit_log_entity"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity_key", ["entity", "key", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_user_id"), ["user_id"], unique=False)

    op.create_table(
        "interactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_interactions_direction")),
        sa.CheckConstraint(
            "kind IN ('call', 'visit', 'email', 'meeting', 'note')",
            name=op.f("ck_interactions_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_interactions_contact_id")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_interactions_customer_id")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_interactions_user_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interactions_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index("ix_interactions_customer_at", ["customer_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_interactions_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_interactions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "import_jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("only_good_rows", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('customers', 'contacts', 'items', 'open_orders')",
            name=op.f("ck_import_jobs_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('previewed', 'running', 'done', 'failed', 'refused')",
            name=op.f("ck_import_jobs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_import_jobs_created_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_jobs_created_by"), ["created_by"], unique=False)

    op.create_table(
        "customer_tags",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], name=op.f("fk_customer_tags_added_by")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_tags_customer_id")
        ),
        sa.PrimaryKeyConstraint("customer_id", "tag", name=op.f("pk_customer_tags")),
    )
    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_tags_added_by"), ["added_by"], unique=False)
        batch_op.create_index("ix_customer_tags_tag", ["tag"], unique=False)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buying_role", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "reports_to_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_contacts_reports_to_id"), "contacts", ["reports_to_id"], ["id"]
        )
        batch_op.create_check_constraint(
            "buying_role",
            "buying_role IN ('decision_maker', 'influencer', 'user', 'technical', 'purchasing')",
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_name_key"), ["name_key"], unique=False)
    op.create_table(
        "customer_addresses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('billing', 'shipping', 'site')", name=op.f("ck_customer_addresses_kind")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_addresses_customer_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
    )
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_addresses_customer_id"), ["customer_id"], unique=False
        )
    _fold_names()


def _fold_names() -> None:
    """Every customer's name folded, so duplicate checks find the ones made before."""
    customers = sa.table(
        "customers", sa.column("id", sa.BigInteger), sa.column("name"), sa.column("name_key")
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(customers.c.id, customers.c.name)).all()
    keys = [{"row_id": r.id, "key": name_key(r.name)} for r in rows]
    if keys:
        conn.execute(
            sa.update(customers)
            .where(customers.c.id == sa.bindparam("row_id"))
            .values(name_key=sa.bindparam("key")),
            keys,
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_addresses_customer_id"))

    op.drop_table("customer_addresses")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_name_key"))
        batch_op.drop_column("name_key")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contacts_reports_to_id"), type_="foreignkey")
        batch_op.drop_column("reports_to_id")
        batch_op.drop_column("buying_role")

    with op.batch_alter_table("customer_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_tags_tag")
        batch_op.drop_index(batch_op.f("ix_customer_tags_added_by"))

    op.drop_table("customer_tags")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_created_by"))

    op.drop_table("import_jobs")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interactions_user_id"))
        batch_op.drop_index(batch_op.f("ix_interactions_customer_id"))
        batch_op.drop_index("ix_interactions_customer_at")
        batch_op.drop_index(batch_op.f("ix_interactions_contact_id"))

    op.drop_table("interactions")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_user_id"))
        batch_op.drop_index("ix_audit_log_entity_key")

    op.drop_table("audit_log")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_owner_id"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_customers_parent_id"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_customers_parent_id"))
        batch_op.drop_index(batch_op.f("ix_customers_owner_id"))
        batch_op.drop_column("parent_id")
        batch_op.drop_column("owner_id")
        batch_op.drop_column("tier")

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_quote_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_owner_id"))
        batch_op.drop_index("ix_tasks_owner_due")
        batch_op.drop_index(batch_op.f("ix_tasks_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_customer_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("quote_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_lines_quote_id"))
        batch_op.drop_index(batch_op.f("ix_quote_lines_item_id"))

    op.drop_table("quote_lines")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_status_valid")
        batch_op.drop_index(batch_op.f("ix_quotes_sales_order_id"))
        batch_op.drop_index(batch_op.f("ix_quotes_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_quotes_customer_id"))
        batch_op.drop_index(batch_op.f("ix_quotes_created_by"))
        batch_op.drop_index(batch_op.f("ix_quotes_approved_by"))

    op.drop_table("quotes")
    with op.batch_alter_table("opportunity_stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_stages_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_opportunity_stages_by_id"))

    op.drop_table("opportunity_stages")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_status_created")
        batch_op.drop_index(batch_op.f("ix_leads_owner_id"))
        batch_op.drop_index(batch_op.f("ix_leads_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_leads_customer_id"))
        batch_op.drop_index(batch_op.f("ix_leads_contact_id"))

    op.drop_table("leads")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunities_stage_close")
        batch_op.drop_index(batch_op.f("ix_opportunities_owner_id"))
        batch_op.drop_index("ix_opportunities_owner_close")
        batch_op.drop_index(batch_op.f("ix_opportunities_customer_id"))
        batch_op.drop_index(batch_op.f("ix_opportunities_contact_id"))

    op.drop_table("opportunities")
    with op.batch_alter_table("assignment_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_rules_owner_id"))

    op.drop_table("assignment_rules")
    op.drop_table("pipeline_stages")
