"""One Redis client per app: the real server, or fakeredis in embedded mode.

The real client fails fast. Every caller already treats Redis as optional (cache
falls through to SQL, limits to memory, jobs stay in the outbox), so the only
cost of a hung Redis should be one short wait: a call that times out, or a server
that refuses connections, opens a circuit for REDIS_CIRCUIT_SECONDS during which
every call fails at once with `CircuitOpen` (a `redis.ConnectionError`). Then one
call probes; its answer closes the circuit or opens it again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)


class CircuitOpen(redis.ConnectionError):
    """Redis did not answer a moment ago: skipped without waiting."""


class CircuitBreaker:
    def __init__(self, open_seconds: float, probe_seconds: float):
        self.open_seconds = open_seconds
        self.probe_seconds = probe_seconds  # how long one probe may take before another caller may try
        self._open_until = 0.0  # monotonic; 0 = closed
        self._prober: object | None = None  # the connection probing, once the circuit has been open long enough
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def allow(self, connection: object) -> None:
        """Raise CircuitOpen while open; once it has been open long enough, let one connection probe."""
        if not self._open_until:
            return
        with self._lock:
            now = time.monotonic()
            if not self._open_until or self._prober is connection:
                return
            if now < self._open_until:
                raise CircuitOpen(f"Redis skipped for {self._open_until - now:.1f}s more (it stopped answering)")
            # This connection probes; the others keep failing fast until it has an answer.
            self._prober = connection
            self._open_until = now + self.probe_seconds

    def failed(self, exc: Exception) -> None:
        with self._lock:
            if not self.is_open:
                log.warning("Redis did not answer (%s); skipping it for %ss", exc, self.open_seconds)
            self._prober = None
            self._open_until = time.monotonic() + self.open_seconds

    def succeeded(self) -> None:
        if self._open_until:
            with self._lock:
                if self._open_until:
                    log.info("Redis answers again")
                self._prober = None
                self._open_until = 0.0


class GuardedConnection(redis.Connection):
    """A connection that consults its pool's breaker before talking and reports how it went."""

    def __init__(self, *args: Any, breaker: CircuitBreaker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        self.breaker = breaker

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        if self._sock:
            return
        self.breaker.allow(self)
        try:
            super().connect_check_health(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.breaker.failed(exc)  # refused or not accepted in time: the server is down
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self.breaker.allow(self)
        super().send_packed_command(command, check_health=check_health)  # type: ignore[no-untyped-call]  # unannotated upstream

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().read_response(*args, **kwargs)
        except redis.TimeoutError as exc:
            self.breaker.failed(exc)  # connected but silent: a hung server
            raise
        self.breaker.succeeded()
        return response


def guarded_client(url: str, *, timeout: float, circuit_seconds: float) -> redis.Redis:
    pool = redis.ConnectionPool.from_url(
        url,
        connection_class=GuardedConnection,
        breaker=CircuitBreaker(circuit_seconds, probe_seconds=2 * timeout),
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=30,
        # One immediate retry, for a pooled connection the server closed (a restart);
        # the breaker makes a retry after a timeout fail at once.
        retry=Retry(NoBackoff(), 1),
    )
    return redis.Redis(connection_pool=pool)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        client = guarded_client(
            url, timeout=app.config["REDIS_TIMEOUT"], circuit_seconds=app.config["REDIS_CIRCUIT_SECONDS"]
        )
        if app.config.get("RATELIMIT_STORAGE_URI") == url:
            # Flask-Limiter shares the pool, and with it the short timeout and the breaker.
            app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"connection_pool": client.connection_pool})
    else:
        import fakeredis

        # Tests share one FakeServer between the app and its workers.
        client = fakeredis.FakeRedis(server=app.config.get("FAKEREDIS_SERVER"))
    app.extensions["redis"] = client


def get_redis() -> redis.Redis:
    client: redis.Redis = current_app.extensions["redis"]
    return client


def redis_alive(client: redis.Redis | None = None) -> bool:
    try:
        return bool((client or get_redis()).ping())
    except redis.RedisError:
        return False
