"""Small SQL helpers shared by billing services."""

from __future__ import annotations

from app.extensions import db


def insert(table):
    """INSERT for the session's dialect, so `.on_conflict_do_nothing()` works on Postgres and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)
