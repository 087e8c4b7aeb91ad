"""account data (issue 14): users.deleted_at, usernames held after a deletion, data exports

Revision ID: c6dbadb003e1
Revises: c3d9a4e1b7f2
Create Date: 2026-12-07 14:03:21.233892

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c6dbadb003e1"
down_revision = "c3d9a4e1b7f2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "username_hold",
        sa.Column("username", sa.String(length=30), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_username_hold")),
    )
    op.create_index(op.f("ix_username_hold_held_until"), "username_hold", ["held_until"], unique=False)
    op.create_table(
        "data_export",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("status IN ('preparing', 'ready', 'failed')", name=op.f("ck_data_export_status")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_data_export_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_export")),
    )
    op.create_index(op.f("ix_data_export_user_id"), "data_export", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_data_export_user_id"), table_name="data_export")
    op.drop_table("data_export")
    op.drop_index(op.f("ix_username_hold_held_until"), table_name="username_hold")
    op.drop_table("username_hold")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
