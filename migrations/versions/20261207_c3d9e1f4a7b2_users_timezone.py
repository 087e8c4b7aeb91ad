"""per-person time zones: users.timezone (an IANA name; NULL until chosen or detected)

Revision ID: c3d9e1f4a7b2
Revises: 7b4c2e9d1f60
Create Date: 2026-12-07 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3d9e1f4a7b2"
down_revision = "7b4c2e9d1f60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("timezone")
