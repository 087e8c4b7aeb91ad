"""Small SQL helpers shared by billing services."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import Base, db


def insert(table: sa.Table | type[Base]) -> postgresql.Insert | sqlite.Insert:
    """INSERT for the session's dialect, so `.on_conflict_do_nothing()` works on Postgres and SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
