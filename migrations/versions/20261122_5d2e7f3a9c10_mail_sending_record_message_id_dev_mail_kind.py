"""mail: a "sending" record with its Message-ID before the SMTP call; dev_mail.kind

Revision ID: 5d2e7f3a9c10
Revises: 5e0c1a9d7b21
Create Date: 2026-11-22 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5d2e7f3a9c10"
down_revision = "5e0c1a9d7b21"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sent_email", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.String(length=250), nullable=True))
        # Rows written before this revision were all delivered.
        batch_op.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="sent"))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.create_check_constraint(batch_op.f("ck_sent_email_status"), "status IN ('sending', 'sent')")
    op.execute("UPDATE sent_email SET created_at = sent_at")
    with op.batch_alter_table("sent_email", schema=None) as batch_op:
        batch_op.alter_column("created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column("status", existing_type=sa.String(length=10), server_default=None)
    with op.batch_alter_table("dev_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table("dev_mail", schema=None) as batch_op:
        batch_op.drop_column("kind")
    op.execute("DELETE FROM sent_email WHERE status <> 'sent'")
    with op.batch_alter_table("sent_email", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_sent_email_status"), type_="check")
        batch_op.alter_column("sent_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column("created_at")
        batch_op.drop_column("status")
        batch_op.drop_column("message_id")
        batch_op.drop_column("kind")
