"""One Redis client per app: the real server, or fakeredis in embedded mode."""
from __future__ import annotations

import redis
from flask import Flask, current_app


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2, health_check_interval=30
        )
    else:
        import fakeredis

        # Tests share one FakeServer between the app and its workers.
        client = fakeredis.FakeRedis(server=app.config.get("FAKEREDIS_SERVER"))
    app.extensions["redis"] = client


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def redis_alive(client: redis.Redis | None = None) -> bool:
    try:
        return bool((client or get_redis()).ping())
    except redis.RedisError:
        return False
