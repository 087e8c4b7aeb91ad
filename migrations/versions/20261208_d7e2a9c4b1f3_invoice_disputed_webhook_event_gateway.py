"""billing: an invoice may be disputed (a chargeback); webhook_event.gateway (sandbox, stripe)

Revision ID: d7e2a9c4b1f3
Revises: c3d9e5a1b7f2
Create Date: 2026-12-08 00:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d7e2a9c4b1f3"
down_revision = "c3d9e5a1b7f2"
branch_labels = None
depends_on = None

BEFORE = "status IN ('draft', 'open', 'paid', 'void', 'uncollectible')"
AFTER = "status IN ('draft', 'open', 'paid', 'void', 'uncollectible', 'disputed')"


def upgrade():
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_invoice_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invoice_status"), AFTER)
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        # Every event stored before this revision came from the sandbox.
        batch_op.add_column(sa.Column("gateway", sa.String(length=20), nullable=False, server_default="sandbox"))


def downgrade():
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_column("gateway")
    # A disputed invoice was paid before its dispute: that is what it goes back to.
    op.execute("UPDATE invoice SET status = 'paid' WHERE status = 'disputed'")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_invoice_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_invoice_status"), BEFORE)
