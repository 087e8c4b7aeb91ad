"""App, client and runner fixtures on a migrated test database, emptied after every test."""

from __future__ import annotations

import contextvars
import copy

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from tests.conftest import SERVICES

_fake_server = None


def _redis_overrides() -> dict:
    global _fake_server
    if SERVICES.redis_url:
        return {"REDIS_URL": SERVICES.redis_url}
    import fakeredis

    _fake_server = _fake_server or fakeredis.FakeServer()
    return {"REDIS_URL": None, "FAKEREDIS_SERVER": _fake_server, "RATELIMIT_STORAGE_URI": "memory://"}


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as it would in a server.

    Otherwise a request made while the test holds an app context would share
    that context's `g` and database session (stale login, shared nonce …).
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def build_app(**overrides):
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": SERVICES.database_url, **_redis_overrides(), **overrides})
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replaces pytest-flask's fixture of this name: tests push contexts only when they ask."""
    yield


def reset_schema(app) -> None:
    """Empty schema, then the real migrations: the suite runs on what `flask db upgrade` builds."""
    from flask_migrate import upgrade

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            else:
                meta = sa.MetaData()
                meta.reflect(conn)
                meta.drop_all(conn)
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


def empty_tables(app) -> None:
    from app.seeds import seed_reference_data

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                # A test that leaves a transaction open fails loudly here instead of hanging the run.
                conn.execute(sa.text("SET LOCAL lock_timeout = '15s'"))
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
        seed_reference_data()
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="session")
def _session_app():
    app = build_app()
    reset_schema(app)
    empty_tables(app)
    return app


@pytest.fixture
def app(_session_app):
    """The app, with its config restored and every table and the Redis db emptied after the test."""
    saved = copy.copy(_session_app.config)
    redis = _session_app.extensions["redis"]
    redis.flushdb()
    yield _session_app
    _session_app.config.clear()
    _session_app.config.update(saved)
    empty_tables(_session_app)
    redis.flushdb()
    _session_app.extensions.pop("email_jinja", None)


def _reset_limiter(app) -> None:
    """The Limiter is one object shared by every app: undo what a made app switched on.

    init_app() with RATELIMIT_ENABLED=True enables it for every app in the
    process, and a dead storage leaves it on the in-memory fallback.
    """
    from app.extensions import limiter

    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    limiter._storage_dead = False
    if getattr(limiter, "_fallback_storage", None) is not None:
        limiter._fallback_storage.reset()


@pytest.fixture
def make_app(_session_app):
    """A separate app with config overrides (limits or CSRF on, a closed Redis port …)."""
    made = []

    def factory(**overrides):
        new = build_app(**overrides)
        made.append(new)
        return new

    yield factory
    for made_app in made:
        with made_app.app_context():
            db.engine.dispose()
    _reset_limiter(_session_app)
    empty_tables(_session_app)
    _session_app.extensions["redis"].flushdb()


@pytest.fixture
def session(app):
    """The ORM session, inside an app context."""
    with app.app_context():
        yield db.session
        db.session.remove()


class QueryCounter:
    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as q: ...; q.count` — SQL statements sent by any thread."""

    def factory():
        with app.app_context():
            engine = db.engine
        return QueryCounter(engine)

    return factory


@pytest.fixture
def client(app):
    """A test client (not kept in a `with` block: each request gets its own context)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
