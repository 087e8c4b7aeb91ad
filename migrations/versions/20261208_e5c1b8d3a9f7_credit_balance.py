"""credit balance: credit_balance (per user and currency), credit_entry (the ledger), invoice.credit_applied

Revision ID: e5c1b8d3a9f7
Revises: e1c5a7f3b920
Create Date: 2026-12-08 00:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5c1b8d3a9f7"
down_revision = "e1c5a7f3b920"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invoice") as batch:
        batch.add_column(sa.Column("credit_applied", sa.BigInteger(), server_default="0", nullable=False))
        batch.create_check_constraint("credit_within_total", "credit_applied >= 0 AND credit_applied <= total")
    op.create_table(
        "credit_balance",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_credit_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_balance_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "currency", name=op.f("pk_credit_balance")),
    )
    op.create_table(
        "credit_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("credit_note_id", sa.Uuid(), nullable=True),
        sa.Column("checkout_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_credit_entry_not_zero")),
        sa.CheckConstraint("balance_after >= 0", name=op.f("ck_credit_entry_balance_after_not_negative")),
        sa.CheckConstraint(
            "source IN ('refund', 'downgrade', 'adjustment', 'applied', 'returned')",
            name=op.f("ck_credit_entry_source"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_entry_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_credit_entry_invoice_id_invoice"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["invoice.id"],
            name=op.f("fk_credit_entry_credit_note_id_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["checkout_id"],
            ["checkout_attempt.id"],
            name=op.f("fk_credit_entry_checkout_id_checkout_attempt"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_credit_entry_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entry")),
    )
    op.create_index(op.f("ix_credit_entry_user_id"), "credit_entry", ["user_id"])
    op.create_index(op.f("ix_credit_entry_invoice_id"), "credit_entry", ["invoice_id"])
    op.create_index(op.f("ix_credit_entry_checkout_id"), "credit_entry", ["checkout_id"])
    op.create_index("ix_credit_entry_user_created", "credit_entry", ["user_id", "created_at"])


def downgrade():
    op.drop_table("credit_entry")
    op.drop_table("credit_balance")
    with op.batch_alter_table("invoice") as batch:
        batch.drop_constraint(op.f("ck_invoice_credit_within_total"), type_="check")
        batch.drop_column("credit_applied")
