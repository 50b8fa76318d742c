"""machine states say at which station the machine stands, so a breakdown finds its work center

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("machine_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("station", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("machine_states", schema=None) as batch_op:
        batch_op.drop_column("station")
