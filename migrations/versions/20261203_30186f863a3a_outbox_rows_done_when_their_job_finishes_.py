"""outbox rows done when their job finishes; periodic job schedule

Revision ID: 30186f863a3a
Revises: 5f0c2a9d7e41
Create Date: 2026-12-03 13:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "30186f863a3a"
down_revision = "5f0c2a9d7e41"
branch_labels = None
depends_on = None

IN_FLIGHT = "enqueued_at IS NOT NULL AND finished_at IS NULL AND failed_at IS NULL"


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deliveries", sa.Integer(), nullable=False, server_default="0"))
    # Rows handed to RQ before this revision were considered done then: keep them so,
    # or the relay would redeliver the whole history.
    op.execute("UPDATE outbox_message SET finished_at = enqueued_at, deliveries = 1 WHERE enqueued_at IS NOT NULL")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("deliveries", server_default=None)
        batch_op.create_index(
            "ix_outbox_message_in_flight",
            ["enqueued_at"],
            unique=False,
            postgresql_where=sa.text(IN_FLIGHT),
            sqlite_where=sa.text(IN_FLIGHT),
        )

    op.create_table(
        "periodic_job",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_periodic_job")),
    )


def downgrade():
    op.drop_table("periodic_job")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_message_in_flight", postgresql_where=sa.text(IN_FLIGHT), sqlite_where=sa.text(IN_FLIGHT)
        )
        batch_op.drop_column("deliveries")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("finished_at")
