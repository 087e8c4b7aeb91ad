"""The RQ worker, running every job with the app context, and the list of periodic jobs.

`flask scheduler` (app/scheduler.py) releases scheduled retries and hands back the
jobs of a worker that died; the worker itself only works.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import redis
import sqlalchemy as sa
from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.job import Job

from app import links, metrics
from app.extensions import db
from app.outbox import QUEUES
from config import ConfigError

log = logging.getLogger(__name__)


def _count_failure(job: Job, exc_type: type[BaseException], exc_value: BaseException, tb: TracebackType | None) -> bool:
    metrics.JOBS_FAILED.labels(queue=job.origin).inc()
    log.error("job %s (%s) failed: %s", job.id, job.func_name, exc_value)
    return True  # let RQ go on with its own handling (retry or failed registry)


# To mypy the mixin is the Worker it is mixed into (so `super().perform_job` has a type).
if TYPE_CHECKING:
    _MixinBase = Worker
else:
    _MixinBase = object


class AppContextMixin(_MixinBase):
    """Run every job inside a fresh app context, with its own DB session."""

    flask_app: Flask
    _parent_pid: int  # the process that built the worker; a job run elsewhere is in a forked work horse
    performed: int = 0  # jobs this worker object ran (in this process)
    stop_signalled = False

    def perform_job(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> bool:
        self.performed += 1
        with self.flask_app.app_context(), links.job_origin(job.meta.get("origin")):
            if os.getpid() != self._parent_pid:
                # A forked work horse must not share the parent's pooled connections.
                db.engine.dispose(close=False)
            try:
                ran: bool = super().perform_job(job, queue, *args, **kwargs)
                return ran
            finally:
                db.session.remove()


class AppWorker(AppContextMixin, Worker):
    # Redis back after an outage: dequeue again within seconds, not after RQ's 60-second backoff.
    max_connection_wait_time = 5.0

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signalled = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # unannotated in rq

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # How long the job's entry in the started registry lives without a heartbeat.
        # RQ's is the heartbeat interval + 60 s; a worker killed with -9 would hold its
        # job that long before the scheduler may call it abandoned.
        return int(self.flask_app.config["JOB_ABANDONED_SECONDS"])


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    """No fork: for tests and for platforms without fork."""


# An idle worker heartbeats every WORKER_TTL - 15 s (the length of its blocking dequeue).
WORKER_TTL = 60


def worker_connection(app: Flask) -> redis.Redis:
    """The worker's own client: RQ lengthens its socket timeout to outlast a blocking
    dequeue, which the app's short-timeout client must keep."""
    url = app.config.get("REDIS_URL")
    if not url:
        client: redis.Redis = app.extensions["redis"]  # fakeredis: nothing blocks
        return client
    return redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)


def build_worker(
    app: Flask, queues: tuple[str, ...] = QUEUES, *, simple: bool = False, connection: redis.Redis | None = None
) -> AppContextMixin:
    if app.config["JOB_ABANDONED_SECONDS"] < 2 * app.config["JOB_HEARTBEAT_SECONDS"]:
        # Otherwise one late heartbeat hands a running job to a second worker.
        raise ConfigError("JOB_ABANDONED_SECONDS must be at least twice JOB_HEARTBEAT_SECONDS.")
    connection = connection or worker_connection(app)
    cls: type[AppContextMixin] = AppSimpleWorker if simple else AppWorker
    worker = cls(
        [Queue(q, connection=connection) for q in queues],
        connection=connection,
        exception_handlers=[_count_failure],
        worker_ttl=WORKER_TTL,
        job_monitoring_interval=app.config["JOB_HEARTBEAT_SECONDS"],
    )
    worker.flask_app = app
    worker._parent_pid = os.getpid()
    return worker


RESTART_PAUSE_MAX = 5.0
_idle_limited: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def limit_idle_transactions(app: Flask) -> None:
    """Have Postgres end this process's sessions left idle inside a transaction.

    A job process that vanishes mid-transaction without its socket being closed (a
    lost host, a network partition) would hold its row locks until TCP gives up,
    hours later, and the redelivered job (a broadcast batch inserting the same
    rows) would wait on them. Jobs never sit idle in a transaction for long.
    """
    seconds = app.config["JOB_IDLE_IN_TRANSACTION_SECONDS"]
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql" or not seconds or engine in _idle_limited:
        return
    _idle_limited.add(engine)

    @sa.event.listens_for(engine, "connect")
    def _set_timeout(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('idle_in_transaction_session_timeout', %s, false)", (f"{int(seconds * 1000)}ms",)
            )
        dbapi_connection.commit()  # a SET inside a transaction rolled back would be undone


def run_worker(app: Flask, queues: tuple[str, ...] = QUEUES, *, burst: bool = False) -> None:
    """`flask worker`: work until stopped by a signal.

    RQ's loop survives Redis going away while it waits for a job, but quits when
    Redis fails between two jobs (or at start). Start a fresh worker after a short
    pause instead, so an outage costs its length and not the worker process.
    """
    pause = 1.0
    while True:
        worker = None
        started = time.monotonic()
        try:
            worker = build_worker(app, queues)
            worker.work(burst=burst)
        except redis.RedisError as exc:  # starting, registering and tearing down talk to Redis too
            log.warning("worker stopped: Redis unavailable (%s)", exc)
        finally:
            if worker is not None and worker.pubsub_thread is not None:
                worker.pubsub_thread.stop()  # teardown skips it when Redis is down
        if burst or (worker is not None and worker.stop_signalled):
            return
        if time.monotonic() - started > 60:
            pause = 1.0
        log.warning("worker quit; starting another in %.0fs", pause)
        try:
            time.sleep(pause)
        except StopRequested:  # SIGTERM while pausing (RQ's handler is still installed)
            return
        pause = min(pause * 2, RESTART_PAUSE_MAX)


@dataclass(frozen=True)
class Periodic:
    func: str  # dotted path under jobs.
    queue: str = "low"
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab expression, UTC


# The periodic jobs. Features add theirs here.
PERIODIC: list[Periodic] = [
    Periodic("jobs.auth.cleanup_otps", queue="low", interval=3600),
    Periodic("jobs.auth.purge_sessions", queue="low", cron="17 3 * * *"),
    Periodic("jobs.account.purge_account_data", queue="low", interval=3600),  # expired exports, held usernames
    Periodic("jobs.notifications.purge_read_notifications", queue="low", cron="47 3 * * *"),  # daily, off the hour
    # Renewals, trial ends and reminders, retries, cancellations, then reconciliation. Safe to overlap.
    Periodic("jobs.billing.run_lifecycle", queue="low", interval=600),
    Periodic("jobs.billing.reconcile_payments", queue="low", interval=300),
]
