"""plan changes: plan_change (proration previewed and applied), product.downgrade_timing, proration lines

Revision ID: d4e8f2a6b1c3
Revises: d4e8a2c6f1b3
Create Date: 2026-12-07 23:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d4e8f2a6b1c3"
down_revision = "d4e8a2c6f1b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("downgrade_timing", sa.String(12), server_default="period_end", nullable=False))
        batch.create_check_constraint("downgrade_timing", "downgrade_timing IN ('period_end', 'now')")
    with op.batch_alter_table("invoice_line") as batch:
        batch.drop_constraint(op.f("ck_invoice_line_kind"), type_="check")
        batch.create_check_constraint("kind", "kind IN ('plan', 'discount', 'fee', 'proration')")
    op.create_table(
        "plan_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("from_plan_id", sa.Uuid(), nullable=False),
        sa.Column("to_plan_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("idempotency_key", sa.String(120), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("previewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("new_period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.String(300), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('upgrade', 'downgrade', 'cycle')", name=op.f("ck_plan_change_kind")),
        sa.CheckConstraint(
            "status IN ('charging', 'scheduled', 'applied', 'declined', 'cancelled')",
            name=op.f("ck_plan_change_status"),
        ),
        sa.CheckConstraint("total = charge - credit + fee", name=op.f("ck_plan_change_total_adds_up")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_plan_change_user_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_plan_change_subscription_id_subscription"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_plan_id"], ["plan.id"], name=op.f("fk_plan_change_from_plan_id_plan"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["to_plan_id"], ["plan.id"], name=op.f("fk_plan_change_to_plan_id_plan"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_plan_change_invoice_id_invoice"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["payment_transaction.id"],
            name=op.f("fk_plan_change_transaction_id_payment_transaction"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_change")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_plan_change_idempotency_key")),
    )
    op.create_index(op.f("ix_plan_change_user_id"), "plan_change", ["user_id"])
    op.create_index(op.f("ix_plan_change_subscription_id"), "plan_change", ["subscription_id"])
    op.create_index(op.f("ix_plan_change_transaction_id"), "plan_change", ["transaction_id"])
    op.create_index("ix_plan_change_status_effective", "plan_change", ["status", "effective_at"])
    op.create_index(
        "uq_plan_change_one_open",
        "plan_change",
        ["subscription_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('charging', 'scheduled')"),
        sqlite_where=sa.text("status IN ('charging', 'scheduled')"),
    )


def downgrade():
    op.drop_table("plan_change")
    with op.batch_alter_table("invoice_line") as batch:
        batch.drop_constraint(op.f("ck_invoice_line_kind"), type_="check")
        batch.create_check_constraint("kind", "kind IN ('plan', 'discount', 'fee')")
    with op.batch_alter_table("product") as batch:
        batch.drop_constraint(op.f("ck_product_downgrade_timing"), type_="check")
        batch.drop_column("downgrade_timing")
