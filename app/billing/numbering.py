"""Gapless document numbers (INV-2026-000123, CN-2026-000001).

A counter row per series and year is locked with SELECT … FOR UPDATE and bumped in
the caller's transaction: if that transaction rolls back, so does the number. A
Postgres sequence would be faster but leaves gaps on rollback.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.billing.sql import insert
from app.extensions import db
from app.models.billing import InvoiceCounter

SERIES = {"invoice": "INV", "credit_note": "CN"}


def _insert_ignore(series: str, year: int) -> sa.Executable:
    return insert(InvoiceCounter).values(series=series, year=year, last_number=0).on_conflict_do_nothing()


def _lock(series: str, year: int) -> int | None:
    query = (
        sa.select(InvoiceCounter.last_number)
        .where(InvoiceCounter.series == series, InvoiceCounter.year == year)
        .with_for_update()
    )
    return db.session.execute(query).scalar_one_or_none()


def allocate(kind: str, year: int, count: int = 1) -> list[str]:
    """`count` consecutive numbers of the kind's series for `year` (holds the counter lock until commit)."""
    series = SERIES[kind]
    # No autoflush: drafts waiting in the session are inserted once, already numbered, not updated after.
    with db.session.no_autoflush:
        last = _lock(series, year)
        if last is None:
            db.session.execute(_insert_ignore(series, year))
            last = _lock(series, year) or 0  # the row exists now: ours or a concurrent allocation's
        db.session.execute(
            sa.update(InvoiceCounter)
            .where(InvoiceCounter.series == series, InvoiceCounter.year == year)
            .values(last_number=last + count)
        )
    return [f"{series}-{year}-{n:06d}" for n in range(last + 1, last + count + 1)]
