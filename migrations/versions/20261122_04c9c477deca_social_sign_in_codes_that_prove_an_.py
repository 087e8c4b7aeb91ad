"""social sign-in: codes that prove an email address before it has an account

Revision ID: 04c9c477deca
Revises: 3bb5c6fb240f
Create Date: 2026-11-22 02:41:09.421546

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "04c9c477deca"
down_revision = "3bb5c6fb240f"
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode: SQLite (the embedded development mode) can't ALTER a column in place.
    with op.batch_alter_table("user_otp", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_check_constraint("owner", "user_id IS NOT NULL OR target IS NOT NULL")
        batch_op.create_index(
            "ix_user_otp_target_purpose_created",
            ["target", "purpose", "created_at"],
            unique=False,
            postgresql_where=sa.text("user_id IS NULL"),
            sqlite_where=sa.text("user_id IS NULL"),
        )


def downgrade():
    op.execute("DELETE FROM user_otp WHERE user_id IS NULL")
    with op.batch_alter_table("user_otp", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_user_otp_target_purpose_created",
            postgresql_where=sa.text("user_id IS NULL"),
            sqlite_where=sa.text("user_id IS NULL"),
        )
        batch_op.drop_constraint("owner", type_="check")
        batch_op.alter_column("user_id", existing_type=sa.Uuid(), nullable=False)
