import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db


@pytest.mark.postgres
def test_flask_db_upgrade_builds_exactly_the_models_schema(app):
    """The test database was built by `flask db upgrade` on an empty schema (tests/support/db.py)."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ; run `make migration m=...`: {diff}"
        assert "alembic_version" in sa.inspect(conn).get_table_names()


def test_migrations_have_a_single_head(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Config as _  # noqa: F401

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; merge them"
