"""Absolute links (emails, notifications, the sandbox's webhook) and paths built without a request.

The origin comes from BASE_URL when it is set; production requires it, because the
Host header is the visitor's to choose and a reset link must never follow it. Without
it (development, tests) the origin is the one being served:

- in a request, the request's own scheme, host and port;
- in a job, the origin of the request that queued it (the outbox stores it with the
  message, so a worker in another process links back to the same server);
- anywhere else (a CLI command, a periodic job), http://127.0.0.1:$PORT.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from flask import current_app, has_request_context, request
from werkzeug.routing import MapAdapter

from config import ConfigError

_job_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_origin", default=None)


def base_url() -> str:
    """The origin absolute links start with, without a trailing slash."""
    configured: str | None = current_app.config.get("BASE_URL")
    if configured:
        return configured.rstrip("/")
    if current_app.config.get("APP_ENV") == "production":
        raise ConfigError("BASE_URL must be set in production (the public origin, e.g. https://shop.example.com).")
    if has_request_context():
        return request.host_url.rstrip("/")
    return _job_origin.get() or f"http://127.0.0.1:{current_app.config['PORT']}"


def served_origin() -> str | None:
    """What an outbox message records: the origin a request derived, or None when BASE_URL decides."""
    if current_app.config.get("BASE_URL") or not has_request_context():
        return None
    return request.host_url.rstrip("/")


@contextlib.contextmanager
def job_origin(origin: str | None) -> Iterator[None]:
    """Run a job with the origin of the request that queued it."""
    token = _job_origin.set(origin)
    try:
        yield
    finally:
        _job_origin.reset(token)


def path_for(endpoint: str, **values: Any) -> str:
    """url_for's path, in a request or not (jobs, CLI)."""
    adapter: MapAdapter | None = current_app.extensions.get("path_adapter")
    if adapter is None:
        adapter = current_app.extensions["path_adapter"] = current_app.url_map.bind("localhost")
    return adapter.build(endpoint, values)


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of `endpoint`, on the origin `base_url()` gives (in a request or not)."""
    return base_url() + path_for(endpoint, **values)


def external_link(link: str | None) -> str:
    """A stored link for an email: local paths get the origin, full URLs stay as they are."""
    if not link:
        return ""
    if link.startswith("/") and not link.startswith("//"):
        return base_url() + link
    return link
