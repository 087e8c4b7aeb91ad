"""Links for notifications and emails, built without a request context (jobs, CLI)."""
from __future__ import annotations

from flask import current_app


def path_for(endpoint: str, **values) -> str:
    app = current_app._get_current_object()
    adapter = app.extensions.get("billing_url_adapter")
    if adapter is None:
        adapter = app.extensions["billing_url_adapter"] = app.url_map.bind("localhost")
    return adapter.build(endpoint, values)


def external_url(endpoint: str, **values) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path_for(endpoint, **values)
