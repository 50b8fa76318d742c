"""the quote an order came from, found by index: a sales order's page names it

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_quotes_sales_order", "quotes", ["sales_order_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_quotes_sales_order", table_name="quotes")
