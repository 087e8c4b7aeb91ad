"""checkout attempt: amount, currency and the order snapshot, recorded before the gateway is called

Revision ID: 5e0c1a9d7b21
Revises: 30186f863a3a
Create Date: 2026-11-23 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "5e0c1a9d7b21"
down_revision = "30186f863a3a"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    with op.batch_alter_table("checkout_attempt") as batch:
        batch.add_column(sa.Column("amount", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("snapshot", JSON, nullable=True))
    # Attempts made before this revision: what their invoices add up to (their orders are complete).
    op.execute("""
        UPDATE checkout_attempt SET
          amount = COALESCE((SELECT SUM(total) FROM invoice WHERE invoice.checkout_id = checkout_attempt.id), 0),
          currency = COALESCE((SELECT MIN(currency) FROM invoice WHERE invoice.checkout_id = checkout_attempt.id),
                              'USD'),
          snapshot = '{}'
    """)
    with op.batch_alter_table("checkout_attempt") as batch:
        batch.alter_column("amount", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("currency", existing_type=sa.String(length=3), nullable=False)
        batch.alter_column("snapshot", existing_type=JSON, nullable=False)
        batch.create_index(batch.f("ix_checkout_attempt_transaction_id"), ["transaction_id"], unique=False)


def downgrade():
    with op.batch_alter_table("checkout_attempt") as batch:
        batch.drop_index(batch.f("ix_checkout_attempt_transaction_id"))
        batch.drop_column("snapshot")
        batch.drop_column("currency")
        batch.drop_column("amount")
