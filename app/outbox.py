"""Enqueue jobs through the transactional outbox.

`enqueue()` writes an `OutboxMessage` in the caller's transaction. When that
transaction commits, the rows it wrote are relayed to RQ at once; the scheduler
relays anything left behind (Redis was down, the process died) every few
seconds. The RQ job id is derived from the outbox id and enqueued with
`unique=True`, so a row reaches the queue once however often it is relayed.

A row is done only when its job has finished: the worker marks it from the job's
success callback (or failure callback, once the last retry has failed and RQ
parks the job in its failed registry). Redis without persistence can lose a
handed-off job, so the scheduler looks rows still in flight after
OUTBOX_VISIBILITY_SECONDS up in RQ and hands over again the ones RQ no longer
has. Jobs are idempotent, so a redelivery is safe.

With no Redis configured (the embedded default), relayed jobs run in-process.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, cast

import redis
import sqlalchemy as sa
from flask import Flask, current_app
from rq import Callback, Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.utils import import_string

from app import links, metrics
from app.extensions import db
from app.models.base import utcnow
from app.models.outbox import IN_FLIGHT, OutboxMessage
from app.redis_client import get_redis

log = logging.getLogger(__name__)

QUEUES = ("high", "default", "low")
PENDING_KEY = "outbox_pending"
COMMITTED_KEY = "outbox_committed"
RELAY_BATCH = 500
# RQ says a job is still on its way: leave the row in flight.
_IN_RQ = {
    JobStatus.QUEUED,
    JobStatus.STARTED,
    JobStatus.SCHEDULED,
    JobStatus.DEFERRED,
    JobStatus.CREATED,
    JobStatus.RATE_LIMITED,
    JobStatus.READY_TO_ENQUEUE,
}
_GAVE_UP = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
_inline_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("inline_job_id", default=None)
_table = cast(sa.Table, OutboxMessage.__table__)  # a declarative model's table is a Table


def enqueue(func: str, *args: Any, queue: str = "default", **kwargs: Any) -> OutboxMessage:
    """Schedule `func` (a dotted path under `jobs.`) to run after the commit.

    Pass ids and plain JSON values only: the job loads what it needs.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    if not func.startswith("jobs."):
        raise ValueError("jobs live in the jobs package: pass 'jobs.module.function'")
    message = OutboxMessage(func=func, args=list(args), kwargs=kwargs, queue=queue, origin=links.served_origin())
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(PENDING_KEY, []).append(message.id)
    return message


def get_queue(name: str = "default", connection: redis.Redis | None = None) -> Queue:
    return Queue(name, connection=connection or get_redis())


def relay_pending(ids: Iterable[int] | None = None, app: Flask | None = None) -> int:
    """Hand committed outbox rows to RQ (or run them inline). Returns how many were handed over.

    With `ids` (after a commit) only those rows; without (the scheduler, `flask outbox
    relay`) every pending row, then every row in flight past the visibility timeout.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's app, typed Flask
    with app.app_context():
        query = sa.select(_table).where(_table.c.enqueued_at.is_(None)).order_by(_table.c.id).limit(RELAY_BATCH)
        if ids is not None:
            query = query.where(_table.c.id.in_(list(ids)))
        query = query.with_for_update(skip_locked=True)
        if app.config["JOBS_INLINE"]:
            return _run_pending_inline(app, query)
        handed = _hand_over(app, query)
        if ids is None:
            handed += _redeliver_lost(app)
        return handed


def _hand_over(app: Flask, query: sa.Select[Any]) -> int:
    handed = 0
    with db.engine.begin() as conn:
        for row in conn.execute(query).mappings():
            try:
                _push_to_rq(app, row)
            except redis.RedisError as exc:
                log.warning("outbox relay: Redis unavailable, %s stays pending (%s)", row["id"], exc)
                conn.execute(
                    _table.update()
                    .where(_table.c.id == row["id"])
                    .values(attempts=_table.c.attempts + 1, last_error=str(exc)[:500])
                )
                break
            conn.execute(
                _table.update()
                .where(_table.c.id == row["id"])
                .values(enqueued_at=utcnow(), deliveries=_table.c.deliveries + 1)
            )
            handed += 1
    return handed


def _redeliver_lost(app: Flask) -> int:
    """Rows handed off long ago and not finished: settle them from RQ's answer, or hand them over again."""
    cutoff = utcnow() - timedelta(seconds=app.config["OUTBOX_VISIBILITY_SECONDS"])
    query = (
        sa.select(_table)
        .where(sa.text(IN_FLIGHT), _table.c.enqueued_at < cutoff)
        .order_by(_table.c.enqueued_at)
        .limit(RELAY_BATCH)
        .with_for_update(skip_locked=True)
    )
    redelivered = 0
    with db.engine.begin() as conn:
        rows = conn.execute(query).mappings().all()
        if not rows:
            return 0
        try:
            statuses = _rq_statuses(app, [row["id"] for row in rows])
        except redis.RedisError as exc:
            log.warning("outbox relay: Redis unavailable, cannot check %d job(s) in flight (%s)", len(rows), exc)
            return 0
        for row, status in zip(rows, statuses, strict=True):
            where = _table.c.id == row["id"]
            if status == JobStatus.FINISHED:  # the worker could not record it (database down)
                conn.execute(_table.update().where(where).values(finished_at=utcnow()))
            elif status in _GAVE_UP:
                conn.execute(_table.update().where(where).values(failed_at=utcnow(), last_error=f"RQ job {status}"))
            elif status in _IN_RQ:
                conn.execute(_table.update().where(where).values(enqueued_at=utcnow()))  # look again later
            else:  # RQ has no such job: Redis lost it
                try:
                    _push_to_rq(app, row)
                except redis.RedisError as exc:
                    log.warning("outbox relay: Redis unavailable, %s not redelivered (%s)", row["id"], exc)
                    break
                log.warning("outbox relay: RQ lost job outbox-%s (%s); handed it over again", row["id"], row["func"])
                metrics.JOBS_REDELIVERED.labels(queue=row["queue"]).inc()
                conn.execute(
                    _table.update().where(where).values(enqueued_at=utcnow(), deliveries=_table.c.deliveries + 1)
                )
                redelivered += 1
    return redelivered


def _rq_statuses(app: Flask, outbox_ids: list[int]) -> list[JobStatus | None]:
    with app.extensions["redis"].pipeline(transaction=False) as pipe:
        for outbox_id in outbox_ids:
            pipe.hget(Job.key_for(f"outbox-{outbox_id}"), "status")
        raw = pipe.execute()
    return [JobStatus(value.decode()) if value else None for value in raw]


def _push_to_rq(app: Flask, row: sa.RowMapping) -> None:
    job_id = f"outbox-{row['id']}"
    queue = get_queue(row["queue"], app.extensions["redis"])
    try:
        queue.enqueue_call(
            row["func"],
            args=row["args"],
            kwargs=row["kwargs"],
            job_id=job_id,
            meta={"outbox_id": row["id"], "origin": row["origin"]},
            retry=Retry(max=app.config["JOB_RETRIES"], interval=app.config["JOB_RETRY_INTERVALS"]),
            on_success=Callback(on_job_success),
            on_failure=Callback(on_job_failure),
            result_ttl=86400,
            failure_ttl=30 * 86400,
            unique=True,
        )
    except DuplicateJobError:
        log.info("outbox relay: %s already queued", job_id)
        return
    metrics.JOBS_ENQUEUED.labels(queue=row["queue"]).inc()


def _mark(outbox_id: int | None, **values: Any) -> None:
    """Record a job's outcome on its row, in a transaction of its own (the job's may have failed)."""
    if outbox_id is None:
        return
    try:
        with db.engine.begin() as conn:
            conn.execute(_table.update().where(_table.c.id == outbox_id).values(**values))
    except sa.exc.SQLAlchemyError as exc:
        # The relay settles the row from RQ's record once the visibility timeout has passed.
        log.warning("outbox: could not record the outcome of outbox-%s (%s)", outbox_id, exc)


def _error(exc_type: type[BaseException] | None, exc_value: BaseException | None) -> str:
    return f"{getattr(exc_type, '__name__', exc_type)}: {exc_value}"[:500]


def on_job_success(job: Job, connection: redis.Redis, result: Any) -> None:
    """RQ success callback (in the worker): the row is done."""
    _mark(job.meta.get("outbox_id"), finished_at=utcnow(), failed_at=None)


def on_job_failure(
    job: Job,
    connection: redis.Redis,
    exc_type: type[BaseException],
    exc_value: BaseException,
    traceback: TracebackType | None,
) -> None:
    """RQ failure callback: after the last retry RQ parks the job as failed, and so is the row."""
    if job.retries_left:
        return  # RQ retries it later: still in flight
    _mark(job.meta.get("outbox_id"), failed_at=utcnow(), last_error=_error(exc_type, exc_value))


def _run_pending_inline(app: Flask, query: sa.Select[Any]) -> int:
    with db.engine.begin() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
        if rows:
            conn.execute(
                _table.update()
                .where(_table.c.id.in_([r["id"] for r in rows]))
                .values(enqueued_at=utcnow(), deliveries=_table.c.deliveries + 1)
            )
    for row in rows:
        _run_inline(app, row)
    return len(rows)


def _run_inline(app: Flask, row: Mapping[str, Any]) -> None:
    """Embedded mode: run the job now, in a fresh app context (its own session)."""
    token = _inline_job_id.set(f"outbox-{row['id']}")
    with app.app_context(), links.job_origin(row["origin"]):
        try:
            import_string(row["func"])(*row["args"], **row["kwargs"])
        except Exception as exc:  # a failed job must not fail the request that queued it
            db.session.rollback()
            log.exception("inline job %s failed", row["func"])
            metrics.JOBS_FAILED.labels(queue=row["queue"]).inc()
            _mark(row["id"], failed_at=utcnow(), last_error=_error(type(exc), exc))
        else:
            _mark(row["id"], finished_at=utcnow())
        finally:
            _inline_job_id.reset(token)


def current_job_id(default: str | None = None) -> str | None:
    """The running job's id: RQ's, or the inline runner's (same outbox-<id> form)."""
    job = get_current_job()
    if job is not None:
        return job.id
    return _inline_job_id.get() or default


def job_exists(job_id: str) -> bool:
    return Job.exists(job_id, connection=get_redis())


def _after_commit(sess: Session) -> None:
    ids = sess.info.pop(PENDING_KEY, None)
    if ids:
        sess.info.setdefault(COMMITTED_KEY, []).extend(ids)


def _after_rollback(sess: Session) -> None:
    sess.info.pop(PENDING_KEY, None)


def _after_transaction_end(sess: Session, transaction: SessionTransaction) -> None:
    # Relay once the outermost transaction has ended, so the rows are
    # visible to other connections and the session is usable again.
    if transaction.parent is None:
        ids = sess.info.pop(COMMITTED_KEY, None)
        if ids:
            try:
                relay_pending(ids)
            except Exception:  # the scheduler's relay picks them up
                log.exception("outbox relay after commit failed; rows stay pending")


def init_app(app: Flask) -> None:
    # db.session is one scoped_session for every app: listen once.
    for name, fn in (
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not sa.event.contains(db.session, name, fn):
            sa.event.listen(db.session, name, fn)
