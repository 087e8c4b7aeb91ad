"""Readiness: which parts of the system are down, as /readyz reports them.

The database and Redis answer a query; the scheduler is up while its leader's
heartbeat key lives (it is rewritten every tick); a worker is up while it
heartbeats (an idle one every WORKER_TTL - 15 s, a busy one every
JOB_HEARTBEAT_SECONDS). With Redis down the scheduler and workers cannot be
seen, so only Redis is named; in embedded mode (no Redis) jobs run in-process
and there is neither.
"""

from __future__ import annotations

from datetime import timedelta

import redis
import sqlalchemy as sa
from flask import current_app
from rq import worker_registration
from rq.utils import now, utcparse

from app.extensions import db
from app.redis_client import get_redis, redis_alive
from app.scheduler import HEARTBEAT_KEY
from app.workers import WORKER_TTL


def down_parts() -> list[str]:
    down = []
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:
        db.session.rollback()
        down.append("database")
    client = get_redis()
    if not redis_alive(client):
        return [*down, "redis"]
    if current_app.config["JOBS_INLINE"]:
        return down
    try:
        if not client.exists(HEARTBEAT_KEY):
            down.append("scheduler")
        if not _a_worker_heartbeats(client):
            down.append("worker")
    except redis.RedisError:
        down.append("redis")
    return down


def _a_worker_heartbeats(client: redis.Redis) -> bool:
    # Read RQ's worker hashes directly: rq.Worker objects would lengthen the client's socket timeout.
    keys = sorted(worker_registration.get_keys(connection=client))
    if not keys:
        return False
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hget(key, "last_heartbeat")
        beats = pipe.execute()
    cutoff = now() - timedelta(seconds=WORKER_TTL + 15)
    return any(beat and utcparse(beat.decode()) > cutoff for beat in beats)
