"""social login: social_account

Revision ID: 35db3f99106d
Revises: b094d8f28c6a
Create Date: 2026-11-22 02:10:17.708433

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "35db3f99106d"
down_revision = "b094d8f28c6a"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "social_account",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_social_account_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_account")),
        sa.UniqueConstraint("provider", "subject", name=op.f("uq_social_account_provider_subject")),
    )
    op.create_index(op.f("ix_social_account_user_id"), "social_account", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_social_account_user_id"), table_name="social_account")
    op.drop_table("social_account")
