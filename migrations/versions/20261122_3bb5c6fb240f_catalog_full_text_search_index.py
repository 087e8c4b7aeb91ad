"""catalog: full-text search index

Revision ID: 3bb5c6fb240f
Revises: 57b1d5fe19fa
Create Date: 2026-11-22 02:11:26.409161

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3bb5c6fb240f"
down_revision = "57b1d5fe19fa"
branch_labels = None
depends_on = None

# Must stay identical to app.models.catalog.search_document() so the planner matches it.
SEARCH_DOCUMENT = (
    "((setweight(to_tsvector('english', name), 'A') || "
    "setweight(to_tsvector('english', (tagline || ' ') || category), 'B')) || "
    "setweight(to_tsvector('english', description), 'C'))"
)


def upgrade():
    # Postgres full-text search; SQLite (the embedded default) searches with a plain match instead.
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_product_search", "product", [sa.literal_column(SEARCH_DOCUMENT)], unique=False, postgresql_using="gin"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_product_search", table_name="product", postgresql_using="gin")
