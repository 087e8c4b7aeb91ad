"""payment customers: each user's customer id at a gateway that keeps customers (Stripe), one per gateway

Revision ID: d4e8a2c6f1b3
Revises: 9a4f2c7e1d35
Create Date: 2026-12-07 23:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d4e8a2c6f1b3"
down_revision = "9a4f2c7e1d35"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_customer",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_payment_customer_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "gateway", name="pk_payment_customer"),
        sa.UniqueConstraint("customer_id", name="uq_payment_customer_customer_id"),
    )


def downgrade():
    op.drop_table("payment_customer")
