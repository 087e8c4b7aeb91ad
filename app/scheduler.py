"""`flask scheduler`: one leader at a time (a Redis lock) keeps the jobs moving.

Every tick the leader
- relays the outbox: pending rows, and rows whose job Redis lost (app/outbox.py);
- queues the periodic jobs that are due (app/periodic.py);
- releases scheduled retries whose time has come (RQ's scheduler, run in-process,
  with RQ's per-queue locks);
- hands back the jobs of workers that stopped heartbeating (kill -9, a lost host):
  RQ retries them like any failed attempt.

Each part fails on its own: an error (Postgres refusing connections, Redis gone) is
logged and that part backs off (1 s, 2 s, 4 s … at most MAX_BACKOFF) while the others
carry on, and the process never exits on it. The leader writes HEARTBEAT_KEY every
tick; /readyz reports the scheduler down when it is missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler
from werkzeug.utils import import_string

from app.extensions import db
from app.models.base import utcnow
from app.outbox import QUEUES, relay_pending
from app.periodic import enqueue_due
from app.workers import PERIODIC, Periodic

log = logging.getLogger(__name__)

LEADER_KEY = "scheduler:leader"
HEARTBEAT_KEY = "scheduler:heartbeat"
LEADER_TTL = 30  # a standby takes over this long after the leader died
HEARTBEAT_TTL = 15
MAX_BACKOFF = 10.0
PERIODIC_RECHECK = 60.0  # read the schedule at least this often (another scheduler may have run a job)


@dataclass
class Part:
    """One step of the tick, with its own cadence and its own backoff."""

    name: str
    run: Callable[[], float | None]  # may return seconds until it is next needed
    every: float
    next_at: float = 0.0
    failures: int = 0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def ran(self, now: float, wait: float | None) -> None:
        if self.failures:
            log.info("scheduler: %s works again", self.name)
        self.failures = 0
        self.next_at = now + (self.every if wait is None else wait)

    def failed(self, now: float, exc: Exception) -> None:
        self.failures += 1
        backoff = min(MAX_BACKOFF, 2.0 ** (self.failures - 1))
        first_line = (str(exc).splitlines() or [""])[0]
        log.warning(
            "scheduler: %s failed (%s: %s); trying again in %.0fs", self.name, type(exc).__name__, first_line, backoff
        )
        self.next_at = now + max(self.every, backoff)


class Scheduler:
    def __init__(self, app: Flask, periodic: list[Periodic] | None = None, tick: float = 1.0):
        self.app = app
        self.redis: redis.Redis = app.extensions["redis"]
        self.tick = tick
        self.name = f"{os.uname().nodename}:{os.getpid()}"
        self.periodic = list(PERIODIC if periodic is None else periodic)
        for job in self.periodic:
            import_string(job.func)  # a typo fails at start, not at 03:17
        self.retries = RQScheduler(QUEUES, connection=self.redis, name=self.name)
        relay_every = app.config["OUTBOX_RELAY_SECONDS"]
        self.parts = [
            Part("outbox relay", self._relay, relay_every),
            Part("periodic jobs", self._periodic, tick),
            Part("retries", self._release_retries, tick),
            Part("abandoned jobs", self._hand_back_abandoned, relay_every),
        ]
        self._last: dict[str, Any] = {}
        self._stop = False

    def stop(self, *_: object) -> None:
        self._stop = True

    def is_leader(self) -> bool:
        try:
            if self.redis.set(LEADER_KEY, self.name, nx=True, ex=LEADER_TTL):
                return True
            if self.redis.get(LEADER_KEY) == self.name.encode():
                self.redis.expire(LEADER_KEY, LEADER_TTL)
                return True
        except redis.RedisError as exc:
            log.warning("scheduler: Redis unavailable (%s)", exc)
        return False

    def run_once(self) -> dict[str, Any]:
        done: dict[str, Any] = {"leader": False, "relayed": 0, "enqueued": []}
        if not self.is_leader():
            return done
        done["leader"] = True
        self._last = {}
        with self.app.app_context():
            for part in self.parts:
                now = time.monotonic()
                if not part.due(now):
                    continue
                try:
                    part.ran(now, part.run())
                except Exception as exc:
                    part.failed(now, exc)
                finally:
                    db.session.remove()
        done.update(self._last)
        self._beat()
        return done

    def _relay(self) -> None:
        self._last["relayed"] = relay_pending(app=self.app)

    def _periodic(self) -> float:
        queued, next_due = enqueue_due(self.periodic)
        self._last["enqueued"] = queued
        if next_due is None:
            return PERIODIC_RECHECK
        wait = (next_due - utcnow()).total_seconds()
        return min(PERIODIC_RECHECK, max(self.tick, wait))

    def _release_retries(self) -> None:
        if self.retries.acquired_locks != set(QUEUES):
            self.retries.acquire_locks()  # type: ignore[no-untyped-call]  # unannotated in rq
        else:
            # Keeps our locks; one lost to an expiry is taken again.
            self.retries.heartbeat()  # type: ignore[no-untyped-call]  # unannotated in rq
        self.retries.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]  # unannotated in rq

    def _hand_back_abandoned(self) -> None:
        for name in QUEUES:
            registry = StartedJobRegistry(name, connection=self.redis)
            expired = registry.get_expired_job_ids()
            if expired:
                log.warning("scheduler: worker gone, handing back %s from %s", ", ".join(expired), name)
                registry.cleanup()  # retried with backoff like a failed attempt, or parked after the last

    def _beat(self) -> None:
        with contextlib.suppress(redis.RedisError):  # Redis is down: /readyz says so
            self.redis.set(HEARTBEAT_KEY, self.name, ex=HEARTBEAT_TTL)

    def run(self, max_loops: int | None = None) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info("scheduler %s: %d periodic jobs", self.name, len(self.periodic))
        loops = 0
        try:
            while not self._stop and (max_loops is None or loops < max_loops):
                try:
                    self.run_once()
                except Exception:  # never exit on an error; the parts already back off on their own
                    log.exception("scheduler: tick failed")
                loops += 1
                time.sleep(self.tick)
        finally:
            self._resign()

    def _resign(self) -> None:
        """Hand over at once on a clean stop (a kill -9 hands over when the locks expire)."""
        try:
            if self.redis.get(LEADER_KEY) == self.name.encode():
                self.redis.delete(LEADER_KEY, HEARTBEAT_KEY)
            self.retries.release_locks()  # type: ignore[no-untyped-call]  # unannotated in rq
        except redis.RedisError:
            pass
