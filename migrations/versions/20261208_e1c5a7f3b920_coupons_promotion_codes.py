"""billing: coupons, promotion codes, redemptions; subscription.coupon (the terms renewals keep)

Revision ID: e1c5a7f3b920
Revises: f3a8c1d5e7b9
Create Date: 2026-12-08 00:30:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "e1c5a7f3b920"
down_revision = "f3a8c1d5e7b9"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "coupon",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("percent_off", sa.Numeric(5, 2), nullable=True),
        sa.Column("amount_off", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("duration", sa.String(length=10), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=True),
        sa.Column("product_ids", JSON, nullable=False),
        sa.Column("plan_ids", JSON, nullable=False),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("first_purchase_only", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "(percent_off IS NOT NULL AND amount_off IS NULL AND currency IS NULL"
            " AND percent_off >= 1 AND percent_off <= 100)"
            " OR (percent_off IS NULL AND amount_off IS NOT NULL AND currency IS NOT NULL AND amount_off > 0)",
            name=op.f("ck_coupon_percent_or_amount"),
        ),
        sa.CheckConstraint("duration IN ('once', 'repeating', 'forever')", name=op.f("ck_coupon_duration")),
        sa.CheckConstraint(
            "(duration = 'repeating' AND cycles >= 1) OR (duration <> 'repeating' AND cycles IS NULL)",
            name=op.f("ck_coupon_cycles_when_repeating"),
        ),
        sa.CheckConstraint("max_redemptions IS NULL OR max_redemptions >= 1", name=op.f("ck_coupon_max_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon")),
    )
    op.create_index("ix_coupon_created_at", "coupon", ["created_at"])
    op.create_table(
        "promotion_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("coupon_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("times_redeemed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("expires_at", WHEN, nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.CheckConstraint(
            "max_redemptions IS NULL OR max_redemptions >= 1", name=op.f("ck_promotion_code_max_positive")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupon.id"], name=op.f("fk_promotion_code_coupon_id_coupon"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_code")),
    )
    op.create_index(op.f("ix_promotion_code_coupon_id"), "promotion_code", ["coupon_id"])
    op.create_index("uq_promotion_code_code", "promotion_code", [sa.text("lower(code)")], unique=True)
    op.create_table(
        "redemption",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("coupon_id", sa.Uuid(), nullable=False),
        sa.Column("promotion_code_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("checkout_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("redeemed_at", WHEN, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'redeemed', 'released')", name=op.f("ck_redemption_status")),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupon.id"], name=op.f("fk_redemption_coupon_id_coupon"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["promotion_code_id"],
            ["promotion_code.id"],
            name=op.f("fk_redemption_promotion_code_id_promotion_code"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_redemption_user_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["checkout_id"],
            ["checkout_attempt.id"],
            name=op.f("fk_redemption_checkout_id_checkout_attempt"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoice.id"], name=op.f("fk_redemption_invoice_id_invoice"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption")),
        sa.UniqueConstraint("checkout_id", name=op.f("uq_redemption_checkout_id")),
    )
    op.create_index(op.f("ix_redemption_coupon_id"), "redemption", ["coupon_id"])
    op.create_index(op.f("ix_redemption_promotion_code_id"), "redemption", ["promotion_code_id"])
    op.create_index(op.f("ix_redemption_user_id"), "redemption", ["user_id"])
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coupon", JSON, nullable=True))


def downgrade():
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_column("coupon")
    op.drop_table("redemption")
    op.drop_table("promotion_code")
    op.drop_table("coupon")
