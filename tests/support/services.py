"""Find the Postgres and Redis the suite runs against, or decide on the fallback."""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

import pytest

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1.5):
            return True
    except OSError:
        return False


def _postgres_ok(url: str) -> str | None:
    if not _answers(url, 5432):
        return "nothing listens there"
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


def _redis_ok(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1.5).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


@dataclass
class Services:
    database_url: str
    redis_url: str | None  # None: fakeredis
    fallback_reasons: list[str]

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def banner(self) -> str:
        db = urlparse(self.database_url)
        db_text = f"PostgreSQL {db.hostname}:{db.port or 5432}{db.path}" if self.is_postgres else "SQLite (FALLBACK)"
        redis_text = f"Redis {self.redis_url}" if self.redis_url else "fakeredis (FALLBACK)"
        line = f"services: database={db_text}; redis={redis_text}"
        if self.fallback_reasons:
            line += (
                "\n"
                + "!" * 70
                + "\n!! FALLBACK: "
                + "; ".join(self.fallback_reasons)
                + "\n!! Row-lock and concurrency tests are skipped. CI never falls back.\n"
                + "!" * 70
            )
        return line


def _per_worker(db_url: str, redis_url: str) -> tuple[str, str]:
    """Under pytest-xdist each worker gets its own database (test_gw1 …) and Redis db number."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or worker == "gw0":
        return db_url, redis_url
    index = int(worker[2:])
    parsed = urlparse(db_url)
    if db_url.startswith("postgresql"):
        name = f"{parsed.path.lstrip('/')}_{worker}"
        _ensure_database(db_url, name)
        db_url = urlunparse(parsed._replace(path=f"/{name}"))
    r = urlparse(redis_url)
    number = int(r.path.lstrip("/") or 0)
    redis_url = urlunparse(r._replace(path=f"/{(number - index) % 16}"))
    return db_url, redis_url


def _ensure_database(db_url: str, name: str) -> None:
    import psycopg

    admin = urlunparse(urlparse(db_url.replace("postgresql+psycopg://", "postgresql://"))._replace(path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        pass  # reported below when the worker cannot connect


def detect_services() -> Services:
    ci = os.environ.get("CI", "").lower() == "true"
    db_url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_DB
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    db_url, redis_url = _per_worker(db_url, redis_url)
    problems = {}
    if (why := _postgres_ok(db_url)) is not None:
        problems["PostgreSQL"] = f"{db_url}: {why}"
    if (why := _redis_ok(redis_url)) is not None:
        problems["Redis"] = f"{redis_url}: {why}"
    if problems and ci:
        detail = "\n".join(f"  {name} at {text}" for name, text in problems.items())
        pytest.exit(
            f"CI=true and a required service is missing:\n{detail}\n"
            "Start it (see README.md, Tests) or set TEST_DATABASE_URL / REDIS_URL. CI never falls back.",
            returncode=3,
        )
    reasons = [f"{name} unavailable ({text})" for name, text in problems.items()]
    if "PostgreSQL" in problems:
        db_url = f"sqlite:///{tempfile.mkdtemp(prefix='mp-test-')}/test.db"
    return Services(db_url, None if "Redis" in problems else redis_url, reasons)
