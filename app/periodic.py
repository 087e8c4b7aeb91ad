"""Periodic jobs: queued through the outbox when due, on a schedule kept in the database.

Each job's last run is a `periodic_job` row, so a restarted scheduler, or a standby
taking over, carries the schedule on instead of running every interval job at once.
A cron job whose time passed while no scheduler ran runs once when one is back,
not once per missed time. Cron expressions are read in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.dialects import postgresql, sqlite

from app import outbox
from app.extensions import db
from app.models.base import utcnow
from app.models.outbox import PeriodicJob
from app.workers import Periodic


def next_run(job: Periodic, last: datetime | None, since: datetime) -> datetime:
    """When `job` is due: an interval job at once if it never ran; a cron job at its next time."""
    if job.interval:
        return last + timedelta(seconds=job.interval) if last else since
    due: datetime = croniter(job.cron, last or since).get_next(datetime)
    return due


def enqueue_due(periodic: list[Periodic], now: datetime | None = None) -> tuple[list[str], datetime | None]:
    """Queue every due job through the outbox and record when. Commits.

    Returns the names queued and when the next one is due. The schedule rows are
    locked, so two schedulers overlapping for a moment cannot both queue a job.
    """
    if not periodic:
        return [], None
    now = now or utcnow()
    names = [job.func for job in periodic]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(PeriodicJob)
        .values([{"name": name, "created_at": now} for name in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    rows = {
        row.name: row
        for row in db.session.scalars(sa.select(PeriodicJob).where(PeriodicJob.name.in_(names)).with_for_update())
    }
    queued = []
    for job in periodic:
        row = rows[job.func]
        if next_run(job, row.last_enqueued_at, row.created_at) <= now:
            outbox.enqueue(job.func, queue=job.queue)
            row.last_enqueued_at = now
            queued.append(job.func)
    next_due = min(next_run(job, rows[job.func].last_enqueued_at, rows[job.func].created_at) for job in periodic)
    db.session.commit()
    return queued, next_due
