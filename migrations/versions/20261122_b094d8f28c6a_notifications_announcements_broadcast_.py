"""notifications: announcements, broadcast dedupe, retention index

Revision ID: b094d8f28c6a
Revises: e7ad2386f630
Create Date: 2026-11-22 02:11:16.703817

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b094d8f28c6a"
down_revision = "e7ad2386f630"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "announcement",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("batch_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("audience IN ('all', 'product')", name=op.f("ck_announcement_audience")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_announcement_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_announcement_product_id_product"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement")),
    )
    op.create_index(op.f("ix_announcement_created_at"), "announcement", ["created_at"], unique=False)
    # Batch mode: SQLite (the embedded default) cannot ALTER constraints in place.
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("announcement_id", sa.Uuid(), nullable=True))
        batch.create_unique_constraint("uq_notification_announcement_user", ["announcement_id", "user_id"])
        batch.create_foreign_key(
            op.f("fk_notification_announcement_id_announcement"),
            "announcement",
            ["announcement_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index(
        "ix_notification_read_created",
        "notification",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("is_read"),
        sqlite_where=sa.text("is_read"),
    )


def downgrade():
    op.drop_index(
        "ix_notification_read_created",
        table_name="notification",
        postgresql_where=sa.text("is_read"),
        sqlite_where=sa.text("is_read"),
    )
    with op.batch_alter_table("notification") as batch:
        batch.drop_constraint(op.f("fk_notification_announcement_id_announcement"), type_="foreignkey")
        batch.drop_constraint("uq_notification_announcement_user", type_="unique")
        batch.drop_column("announcement_id")
    op.drop_index(op.f("ix_announcement_created_at"), table_name="announcement")
    op.drop_table("announcement")
