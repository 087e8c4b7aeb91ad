"""outbox message origin: the served origin a job's links point back to

Revision ID: 5f0c2a9d7e41
Revises: a5e1c7d3f9b2
Create Date: 2026-12-03 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5f0c2a9d7e41"
down_revision = "a5e1c7d3f9b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_column("origin")
