"""The per-customer checkout lock: one order of a customer is charged and settled at a time.

A Postgres advisory lock held on a connection of its own, so it outlives the
commits in between: the attempt is committed before the gateway is called and the
outcome after it, and a second submit of the same order waits for both instead of
finding the attempt half done. A dropped connection releases it, so a crashed
request never leaves a customer locked out. SQLite (the embedded default) runs one
writer at a time and needs none.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from app.extensions import db

log = logging.getLogger(__name__)

# Longer than a gateway call takes; a submit that waits longer shows "still being processed".
WAIT = "30s"


class CheckoutBusy(Exception):
    """Another request of this customer held the lock for longer than WAIT."""


def _key(user_id: uuid.UUID) -> sa.ColumnElement[int]:
    return sa.func.hashtext(f"checkout:{user_id}")


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


@contextmanager
def checkout_lock(user_id: uuid.UUID) -> Iterator[None]:
    """Hold the customer's checkout lock for the block. Raises CheckoutBusy after WAIT."""
    if not _postgres():
        yield
        return
    conn = db.engine.connect()
    try:
        try:
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{WAIT}'"))
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_key(user_id))))
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise CheckoutBusy(str(user_id)) from None
            raise
        yield
    finally:
        _release(conn)


def _release(conn: sa.Connection) -> None:
    try:
        conn.rollback()  # ends the transaction, and with it the lock
        conn.close()
    except sa.exc.DBAPIError as exc:  # the database went away: so did the lock
        log.warning("checkout lock: connection lost on release (%s)", exc.__class__.__name__)
        conn.invalidate()
        conn.close()


def in_flight(user_id: uuid.UUID) -> bool:
    """True while a request holds the customer's checkout lock (its gateway call may still land).

    Asked inside the caller's transaction; a free lock stays taken until that transaction ends.
    """
    if not _postgres():
        return False
    return not db.session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(_key(user_id))))
