"""inspections keep the check (sample / full), the result and where rework goes back to

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sampling", sa.String(length=8), server_default="sample", nullable=False)
        )
        batch_op.add_column(sa.Column("result", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("rework_operation", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_column("rework_operation")
        batch_op.drop_column("result")
        batch_op.drop_column("sampling")
