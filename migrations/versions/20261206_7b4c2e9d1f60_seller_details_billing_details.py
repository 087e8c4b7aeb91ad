"""invoices people can file: seller details setting, invoice.seller snapshot, users.company and tax_id

Revision ID: 7b4c2e9d1f60
Revises: 5d2e7f3a9c10
Create Date: 2026-12-06 22:45:00.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "7b4c2e9d1f60"
down_revision = "5d2e7f3a9c10"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "seller_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("tax_id", sa.String(length=60), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_seller_settings_singleton")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_seller_settings_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_settings")),
    )
    # Invoices issued before this revision show today's seller details (an empty snapshot).
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "seller",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="{}",
            )
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("company", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("tax_id", sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("tax_id")
        batch_op.drop_column("company")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("seller")
    op.drop_table("seller_settings")
