"""Enqueue jobs through the transactional outbox.

`enqueue()` writes an `OutboxMessage` in the caller's transaction. When that
transaction commits, the rows it wrote are relayed to RQ at once; the scheduler
relays anything left behind (Redis was down, the process died) every few
seconds. The RQ job id is derived from the outbox id and enqueued with
`unique=True`, so a row reaches the queue once however often it is relayed.
With no Redis configured (the embedded default), relayed jobs run in-process.
"""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable

import redis
import sqlalchemy as sa
from flask import Flask, current_app
from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError
from rq.job import Job
from werkzeug.utils import import_string

from app import links, metrics
from app.extensions import db
from app.models.base import utcnow
from app.models.outbox import OutboxMessage
from app.redis_client import get_redis

log = logging.getLogger(__name__)

QUEUES = ("high", "default", "low")
PENDING_KEY = "outbox_pending"
COMMITTED_KEY = "outbox_committed"
RELAY_BATCH = 500
_inline_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("inline_job_id", default=None)


def enqueue(func: str, *args, queue: str = "default", **kwargs) -> OutboxMessage:
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
    """Hand committed outbox rows to RQ (or run them inline). Returns how many."""
    app = app or current_app._get_current_object()
    table = OutboxMessage.__table__
    query = sa.select(table).where(table.c.enqueued_at.is_(None)).order_by(table.c.id).limit(RELAY_BATCH)
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    query = query.with_for_update(skip_locked=True)
    inline = app.config["JOBS_INLINE"]
    relayed: list[dict] = []
    with app.app_context(), db.engine.begin() as conn:
        for row in conn.execute(query).mappings():
            if inline:
                relayed.append(dict(row))
                continue
            try:
                _push_to_rq(app, row)
            except redis.RedisError as exc:
                log.warning("outbox relay: Redis unavailable, %s stays pending (%s)", row["id"], exc)
                conn.execute(
                    table.update().where(table.c.id == row["id"])
                    .values(attempts=table.c.attempts + 1, last_error=str(exc)[:500])
                )
                break
            relayed.append(dict(row))
            conn.execute(table.update().where(table.c.id == row["id"]).values(enqueued_at=utcnow()))
        if inline:
            conn.execute(
                table.update().where(table.c.id.in_([r["id"] for r in relayed])).values(enqueued_at=utcnow())
            )
    if inline:
        for row in relayed:
            _run_inline(app, row)
    return len(relayed)


def _push_to_rq(app: Flask, row) -> None:
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
            result_ttl=86400,
            failure_ttl=30 * 86400,
            unique=True,
        )
    except DuplicateJobError:
        log.info("outbox relay: %s already queued", job_id)
        return
    metrics.JOBS_ENQUEUED.labels(queue=row["queue"]).inc()


def _run_inline(app: Flask, row) -> None:
    """Embedded mode: run the job now, in a fresh app context (its own session)."""
    token = _inline_job_id.set(f"outbox-{row['id']}")
    with app.app_context(), links.job_origin(row["origin"]):
        try:
            import_string(row["func"])(*row["args"], **row["kwargs"])
        except Exception as exc:  # a failed job must not fail the request that queued it
            db.session.rollback()
            log.exception("inline job %s failed", row["func"])
            metrics.JOBS_FAILED.labels(queue=row["queue"]).inc()
            db.session.execute(
                sa.update(OutboxMessage).where(OutboxMessage.id == row["id"])
                .values(last_error=f"{type(exc).__name__}: {exc}"[:500])
            )
            db.session.commit()
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


def _after_commit(sess) -> None:
    ids = sess.info.pop(PENDING_KEY, None)
    if ids:
        sess.info.setdefault(COMMITTED_KEY, []).extend(ids)


def _after_rollback(sess) -> None:
    sess.info.pop(PENDING_KEY, None)


def _after_transaction_end(sess, transaction) -> None:
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
