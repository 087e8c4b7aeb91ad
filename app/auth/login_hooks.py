"""Flask-Login wiring: the session loader, and the hook that signs an expired session out with a message.

Kept apart from app/auth/sessions.py (which the services use) because it answers with pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.auth.sessions import load_user, sign_out_browser
from app.extensions import login_manager
from app.web import is_htmx, safe_next


def end_expired_session() -> ResponseReturnValue | None:
    """Load the session row before the view runs, so an expired one signs out here, with a message."""
    if request.endpoint == "static":
        return None
    current_user._get_current_object()
    message = g.pop("session_expired", None)
    if message is None:
        return None
    sign_out_browser()
    flash(message, "info")
    htmx = is_htmx()
    # Back to the page the person was on after signing in: not a fragment's or a form's own URL.
    if htmx:
        target = request.headers.get("HX-Current-URL")
    else:
        target = request.full_path if request.method == "GET" else request.referrer
    login = url_for("auth.login", next=_local_path(target))
    if htmx:
        # A fragment swap would put the login page inside the page; send the whole tab there.
        return "", 401, {"HX-Redirect": login}
    return redirect(login, 303)


def _local_path(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path) if path != "/auth/login" else None


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.session_protection = "basic"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    app.before_request(end_expired_session)
