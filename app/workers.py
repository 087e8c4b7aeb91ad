"""The RQ worker and the periodic-job scheduler, both running with the app context."""
from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass

import redis
from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.cron import CronScheduler
from werkzeug.utils import import_string

from app import links, metrics
from app.extensions import db
from app.outbox import QUEUES, relay_pending

log = logging.getLogger(__name__)


def _count_failure(job, exc_type, exc_value, tb) -> bool:
    metrics.JOBS_FAILED.labels(queue=job.origin).inc()
    log.error("job %s (%s) failed: %s", job.id, job.func_name, exc_value)
    return True  # let RQ go on with its own handling (retry or failed registry)


class AppContextMixin:
    """Run every job inside a fresh app context, with its own DB session."""

    flask_app: Flask
    performed: int = 0  # jobs this worker object ran (in this process)

    def perform_job(self, job, queue, *args, **kwargs):
        self.performed += 1
        with self.flask_app.app_context(), links.job_origin(job.meta.get("origin")):
            if os.getpid() != self._parent_pid:
                # A forked work horse must not share the parent's pooled connections.
                db.engine.dispose(close=False)
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


class AppWorker(AppContextMixin, Worker):
    pass


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    """No fork: for tests and for platforms without fork."""


def build_worker(app: Flask, queues: tuple[str, ...] = QUEUES, *, simple: bool = False,
                 connection: redis.Redis | None = None) -> Worker:
    connection = connection or app.extensions["redis"]
    cls = AppSimpleWorker if simple else AppWorker
    worker = cls([Queue(q, connection=connection) for q in queues], connection=connection,
                 exception_handlers=[_count_failure])
    worker.flask_app = app
    worker._parent_pid = os.getpid()
    return worker


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
    Periodic("jobs.notifications.purge_read_notifications", queue="low", cron="47 3 * * *"),  # daily, off the hour
    # Renewals, trial ends and reminders, retries, cancellations, then reconciliation. Safe to overlap.
    Periodic("jobs.billing.run_lifecycle", queue="low", interval=600),
    Periodic("jobs.billing.reconcile_payments", queue="low", interval=300),
]

LEADER_KEY = "scheduler:leader"


class Scheduler:
    """One leader at a time (a Redis lock); it relays the outbox and enqueues periodic jobs."""

    def __init__(self, app: Flask, periodic: list[Periodic] | None = None, tick: float = 1.0):
        self.app = app
        self.redis: redis.Redis = app.extensions["redis"]
        self.tick = tick
        self.name = f"{os.uname().nodename}:{os.getpid()}"
        self.cron = CronScheduler(connection=self.redis, name=self.name)
        for p in periodic if periodic is not None else PERIODIC:
            self.cron.register(import_string(p.func), queue_name=p.queue, interval=p.interval, cron=p.cron,
                               name=p.func)
        self._stop = False
        self._last_relay = 0.0

    def stop(self, *_):
        self._stop = True

    def is_leader(self) -> bool:
        try:
            if self.redis.set(LEADER_KEY, self.name, nx=True, ex=30):
                return True
            if self.redis.get(LEADER_KEY) == self.name.encode():
                self.redis.expire(LEADER_KEY, 30)
                return True
        except redis.RedisError as exc:
            log.warning("scheduler: Redis unavailable (%s)", exc)
        return False

    def run_once(self) -> dict:
        done = {"leader": False, "relayed": 0, "enqueued": []}
        if not self.is_leader():
            return done
        done["leader"] = True
        now = time.monotonic()
        if now - self._last_relay >= self.app.config["OUTBOX_RELAY_SECONDS"]:
            with self.app.app_context():
                done["relayed"] = relay_pending(app=self.app)
            self._last_relay = now
        try:
            done["enqueued"] = [job.name for job in self.cron.enqueue_jobs()]
        except redis.RedisError as exc:
            log.warning("scheduler: could not enqueue periodic jobs (%s)", exc)
        return done

    def run(self, max_loops: int | None = None) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("scheduler %s: %d periodic jobs", self.name, len(self.cron.get_jobs()))
        loops = 0
        try:
            while not self._stop and (max_loops is None or loops < max_loops):
                self.run_once()
                loops += 1
                time.sleep(self.tick)
        finally:
            try:
                if self.redis.get(LEADER_KEY) == self.name.encode():
                    self.redis.delete(LEADER_KEY)
            except redis.RedisError:
                pass
