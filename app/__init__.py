"""The application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, Config, get_config, normalize_database_url

log = logging.getLogger(__name__)


def create_app(config: type[Config] | str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    config_class = config if isinstance(config, type) else get_config(config)
    config_class.check()
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(config_class)
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config.setdefault("JOBS_INLINE", not app.config.get("REDIS_URL"))
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        # Flask's documented way to add WSGI middleware; its stubs declare wsgi_app a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    from app import observability

    observability.configure_logging(app)


def register_extensions(app: Flask) -> None:
    from app import http_guards, metrics, outbox, redis_client, security
    from app.extensions import csrf, db, limiter, login_manager, migrate

    http_guards.init_app(app)  # first: its hooks must wrap CSRF's and the limiter's
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), compare_type=True)
    csrf.init_app(app)
    redis_client.init_app(app)  # before the limiter: it shares the client's pool
    limiter.init_app(app)
    login_manager.init_app(app)
    from app.auth import login_hooks

    login_hooks.init_app(app)
    from app import timezones

    timezones.init_app(app)  # after the session loader's hook: the viewer's zone is their profile's
    security.init_app(app)
    metrics.init_app(app)
    outbox.init_app(app)
    from app import models, rbac  # noqa: F401  (every model on the metadata; the role seeder)
    from app.catalog import fees  # noqa: F401  (the platform-fee row seeder)


def register_blueprints(app: Flask) -> None:
    from app.account import bp as account_bp
    from app.admin import bp as admin_bp
    from app.auth import bp as auth_bp
    from app.billing import bp as billing_bp
    from app.catalog import bp as catalog_bp
    from app.main import bp as main_bp
    from app.notifications import bp as notifications_bp
    from app.oauth import bp as oauth_bp

    for blueprint in (main_bp, auth_bp, account_bp, oauth_bp, catalog_bp, billing_bp, notifications_bp, admin_bp):
        app.register_blueprint(blueprint)
    from app import api

    api.init_app(app)  # the JSON API v1 under /api/ (its own blueprints, CSRF-exempt: bearer tokens only)
    if app.config.get("DEV_MAIL_OUTBOX") and app.config["APP_ENV"] != "production":
        from app.mail.routes import bp as dev_mail_bp

        app.register_blueprint(dev_mail_bp)


def register_errorhandlers(app: Flask) -> None:
    from app.error_pages import register_errorhandlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app import templating

    templating.init_app(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
