"""How errors are shown: a friendly page for a full request, a toast for an HTMX one.

Nothing leaks a traceback. A service's domain error gets its status from
`app.web.status_of`; HTTP errors, CSRF, rate limits and a lost database are
handled here too.
"""

from __future__ import annotations

import contextlib
import logging

import sqlalchemy as sa
from flask import Flask, g, render_template
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.errors import AppError, RateLimited
from app.extensions import db
from app.web import is_htmx, status_of

log = logging.getLogger(__name__)

# An error page: its body, status and headers.
ErrorResponse = tuple[str, int, dict[str, str]]

TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "You can't do that",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "That request is too large",
    415: "That kind of data isn't accepted here",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    502: "A service we depend on did not answer",
    503: "Temporarily unavailable",
}


def render_error(
    status: int, message: str, *, headers: dict[str, str] | None = None, without_database: bool = False
) -> ErrorResponse:
    from app.templating import render_without_database

    title = TITLES.get(status, "Error")
    render = render_without_database if without_database else render_template
    if is_htmx():
        body = render("components/_toast.html", level="error", title=title, message=message)
        # Errors land in the toast area, whatever the request was aiming at, and leave the address bar alone:
        # a boosted form's POST URL pushed into history would be a 405 on reload.
        headers = {**(headers or {}), "HX-Retarget": "#toasts", "HX-Reswap": "beforeend", "HX-Push-Url": "false"}
    else:
        body = render("errors/error.html", status=status, title=title, message=message)
    response = (body, status, headers or {})
    return response


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> ErrorResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return render_error(status_of(exc), exc.message, headers=headers)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> ErrorResponse:
        return render_error(400, "Your form expired or came from elsewhere. Reload the page and try again.")

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> ErrorResponse:
        retry_after = exc.retry_after if hasattr(exc, "retry_after") else None
        headers = dict(exc.get_headers()) if hasattr(exc, "get_headers") else {}
        if retry_after and "Retry-After" not in headers:
            headers["Retry-After"] = str(retry_after)
        return render_error(
            429, "You've made a lot of requests in a short time. Wait a moment and try again.", headers=headers
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ErrorResponse:
        status = exc.code or 500
        message = {
            404: "We couldn't find that page. It may have moved, or the link may be mistyped.",
            405: "That action isn't available here.",
            413: "That is more than this address accepts at once.",
        }.get(status, exc.description or TITLES.get(status, "Error"))
        return render_error(status, message, headers=dict(exc.get_headers()) if status == 405 else None)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _database_unavailable(exc: sa.exc.DBAPIError) -> ErrorResponse:
        # Connection lost, refused or timed out: a 503 that renders without the database, never a 500.
        log.error("database unavailable (request id %s): %s", g.get("request_id"), exc.__class__.__name__)
        with contextlib.suppress(sa.exc.DBAPIError):
            db.session.rollback()
        return render_error(
            503,
            "We can't reach our database just now. Nothing you did was lost: try again in a moment.",
            headers={"Retry-After": "30"},
            without_database=True,
        )

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> ErrorResponse:
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unhandled error (request id %s)", g.get("request_id"))
        db.session.rollback()  # a failed statement would fail the error page's own queries (the navbar) too
        return render_error(
            500,
            f"We've logged it and will look into it. Reference: {g.get('request_id', 'unknown')}.",
        )
