"""payment mismatches: what reconciliation found the gateway and our books disagree on (the admin's report)

Revision ID: e7b3c9d2a4f6
Revises: d4e8f2a6b1c3
Create Date: 2026-12-07 23:55:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e7b3c9d2a4f6"
down_revision = "d4e8f2a6b1c3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_mismatch",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("problem", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "problem IN ('not_here', 'failed_here', 'paid_here', 'amount', 'refunded')",
            name=op.f("ck_payment_mismatch_problem"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["payment_transaction.id"],
            name=op.f("fk_payment_mismatch_transaction_id_payment_transaction"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_mismatch")),
        sa.UniqueConstraint(
            "gateway", "reference", "problem", name=op.f("uq_payment_mismatch_gateway_reference_problem")
        ),
    )


def downgrade():
    op.drop_table("payment_mismatch")
