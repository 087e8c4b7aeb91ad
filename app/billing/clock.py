"""The billing clock: the instant of the latest lifecycle run, so a run "as of" another instant only moves forward.

`flask billing run --at` (time travel, for people testing a catalogue and for our tests) runs the lifecycle as
of a chosen instant: allowed in development and test, in production only with BILLING_TIME_TRAVEL=1, and never
before the latest run. Every run records its instant; only time travel is refused for going backwards (the
scheduler's run at the real time is never stopped).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app.dates import iso_instant
from app.errors import Conflict, PermissionDenied
from app.extensions import db
from app.models.billing import BillingClock

TRAVEL_ENVIRONMENTS = frozenset({"development", "test"})


def latest_run_at() -> datetime | None:
    return db.session.scalar(sa.select(BillingClock.latest_run_at).where(BillingClock.id == 1))


def check_travel_allowed() -> None:
    """Raise PermissionDenied unless this deployment may run the lifecycle as of another instant."""
    env = current_app.config.get("APP_ENV")
    if env in TRAVEL_ENVIRONMENTS or current_app.config.get("BILLING_TIME_TRAVEL"):
        return
    raise PermissionDenied(
        f"Time travel is off in {env}: `flask billing run --at` runs only in development and test, "
        "or in production with BILLING_TIME_TRAVEL=1."
    )


def backwards(latest: datetime, at: datetime) -> Conflict:
    return Conflict(
        f"The latest billing run was as of {iso_instant(latest)}; time only moves forward, "
        f"so choose that instant or a later one (not {iso_instant(at)})."
    )


def _locked() -> BillingClock | None:
    return db.session.scalar(sa.select(BillingClock).where(BillingClock.id == 1).with_for_update())


def advance(at: datetime, *, travelling: bool) -> None:
    """Record `at` as the latest run's instant and commit. Travelling to an instant before the latest run raises
    Conflict (nothing recorded); a run at the real time only ever moves the clock forward."""
    clock = _locked()
    if clock is None:
        # The first run ever: two at once both insert; the loser waits for the winner's row, then updates it.
        insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
        db.session.execute(insert(BillingClock).values(id=1, latest_run_at=at).on_conflict_do_nothing())
        clock = _locked()
        assert clock is not None  # noqa: S101  (inserted just now, or by the run that won)
    if travelling and at < clock.latest_run_at:
        latest = clock.latest_run_at
        db.session.rollback()
        raise backwards(latest, at)
    clock.latest_run_at = max(clock.latest_run_at, at)
    db.session.commit()
