"""identity: one-time codes

Revision ID: 57b1d5fe19fa
Revises: 35db3f99106d
Create Date: 2026-11-22 02:09:54.077946

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "57b1d5fe19fa"
down_revision = "35db3f99106d"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_otp",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'used', 'void', 'expired')", name=op.f("ck_user_otp_status")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_otp_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_otp")),
    )
    op.create_index("ix_user_otp_status_created", "user_otp", ["status", "created_at"], unique=False)
    op.create_index("ix_user_otp_user_purpose_created", "user_otp", ["user_id", "purpose", "created_at"], unique=False)


def downgrade():
    op.drop_index("ix_user_otp_user_purpose_created", table_name="user_otp")
    op.drop_index("ix_user_otp_status_created", table_name="user_otp")
    op.drop_table("user_otp")
