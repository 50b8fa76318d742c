"""production orders keep the finish predicted from the floor's pace

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("production_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predicted_end", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("production_orders", schema=None) as batch_op:
        batch_op.drop_column("predicted_end")
