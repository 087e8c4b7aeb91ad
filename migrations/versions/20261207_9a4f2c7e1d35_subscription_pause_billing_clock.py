"""subscription pause (paused status, pause_start/pause_end, access while paused) and the billing clock

Revision ID: 9a4f2c7e1d35
Revises: d7e2a9c4b1f3
Create Date: 2026-12-07 23:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9a4f2c7e1d35"
down_revision = "d7e2a9c4b1f3"
branch_labels = None
depends_on = None

OLD_LIVE = "status IN ('trial', 'active', 'past_due')"
NEW_LIVE = "status IN ('trial', 'active', 'past_due', 'paused')"
OLD_STATUSES = "status IN ('trial', 'active', 'past_due', 'expired', 'cancelled')"
NEW_STATUSES = "status IN ('trial', 'active', 'past_due', 'paused', 'expired', 'cancelled')"


def _one_live(where: str) -> None:
    op.drop_index("uq_subscription_one_live", table_name="subscription")
    op.create_index(
        "uq_subscription_one_live",
        "subscription",
        ["user_id", "product_id"],
        unique=True,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade():
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(sa.Column("pause_start", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pause_end", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(batch.f("ck_subscription_status"), type_="check")
        batch.create_check_constraint(batch.f("ck_subscription_status"), NEW_STATUSES)
        batch.create_check_constraint(
            batch.f("ck_subscription_pause_ends_after_start"), "pause_end IS NULL OR pause_end > pause_start"
        )
    op.create_index("ix_subscription_status_pause_start", "subscription", ["status", "pause_start"], unique=False)
    op.create_index("ix_subscription_status_pause_end", "subscription", ["status", "pause_end"], unique=False)
    _one_live(NEW_LIVE)
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("access_while_paused", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "billing_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("latest_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_billing_clock_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_clock")),
    )


def downgrade():
    op.drop_table("billing_clock")
    with op.batch_alter_table("product") as batch:
        batch.drop_column("access_while_paused")
    op.execute("UPDATE subscription SET status = 'active' WHERE status = 'paused'")
    _one_live(OLD_LIVE)
    op.drop_index("ix_subscription_status_pause_end", table_name="subscription")
    op.drop_index("ix_subscription_status_pause_start", table_name="subscription")
    with op.batch_alter_table("subscription") as batch:
        batch.drop_constraint(batch.f("ck_subscription_pause_ends_after_start"), type_="check")
        batch.drop_constraint(batch.f("ck_subscription_status"), type_="check")
        batch.create_check_constraint(batch.f("ck_subscription_status"), OLD_STATUSES)
        batch.drop_column("pause_end")
        batch.drop_column("pause_start")
