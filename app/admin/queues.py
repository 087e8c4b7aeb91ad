"""What the job queues hold (read-only; retrying and deleting are in app/admin/services.py)."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import sqlalchemy as sa
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from app.errors import ExternalServiceError, NotFound
from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.outbox import IN_FLIGHT, OutboxMessage
from app.outbox import QUEUES, get_queue


@dataclass
class QueueState:
    name: str
    queued: int
    started: int
    scheduled: int
    failed: int
    finished: int


def queue_states() -> list[QueueState]:
    try:
        states = []
        for name in QUEUES:
            queue = get_queue(name)
            states.append(
                QueueState(
                    name=name,
                    queued=len(queue),
                    started=StartedJobRegistry(queue=queue).count,
                    scheduled=ScheduledJobRegistry(queue=queue).count,  # type: ignore[no-untyped-call]  # rq leaves this __init__ unannotated
                    failed=FailedJobRegistry(queue=queue).count,
                    finished=FinishedJobRegistry(queue=queue).count,
                )
            )
        return states
    except redis.RedisError as exc:
        raise ExternalServiceError(f"Redis is not answering ({exc}).") from exc


def failed_jobs(queue_name: str | None = None, limit: int = 50) -> list[Job]:
    jobs: list[Job] = []
    for name in QUEUES if queue_name is None else (queue_name,):
        queue = get_queue(name)
        ids = FailedJobRegistry(queue=queue).get_job_ids(0, limit - 1)
        jobs.extend(job for job in Job.fetch_many(ids, connection=queue.connection) if job is not None)
    return sorted(jobs, key=lambda j: j.ended_at or j.enqueued_at or utcnow(), reverse=True)[:limit]


def error_summary(job: Job) -> str:
    """The last line of the traceback: the exception and its message."""
    result = job.latest_result()
    lines = (result.exc_string or "").strip().splitlines() if result else []
    return lines[-1] if lines else "No error recorded"


def failed_job(job_id: str) -> tuple[Job, FailedJobRegistry]:
    """The failed job and the registry that holds it; NotFound once it is gone."""
    for name in QUEUES:
        registry = FailedJobRegistry(queue=get_queue(name))
        if job_id in registry:
            try:
                return Job.fetch(job_id, connection=registry.connection), registry
            except NoSuchJobError:
                break
    raise NotFound("That failed job no longer exists.")


def get_failed_job(job_id: str) -> Job:
    return failed_job(job_id)[0]


def outbox_backlog() -> dict[str, int]:
    """Rows waiting for the relay, rows whose job is on its way, rows parked after their last retry."""

    def rows(condition: sa.ColumnElement[bool] | sa.TextClause) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    pending = OutboxMessage.enqueued_at.is_(None)
    count, oldest, in_flight, failed = db.session.execute(
        sa.select(
            rows(pending),
            sa.type_coerce(sa.func.min(sa.case((pending, OutboxMessage.created_at))), UTCDateTime),
            rows(sa.text(IN_FLIGHT)),
            rows(OutboxMessage.failed_at.is_not(None)),
        )
    ).one()
    age = int((utcnow() - oldest).total_seconds()) if oldest else 0
    return {"pending": count, "oldest_age_seconds": age, "in_flight": in_flight, "failed": failed}
