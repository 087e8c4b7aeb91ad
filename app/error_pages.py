"""How errors are shown: a friendly page for a full request, a toast for an HTMX one.

Nothing leaks a traceback. A service's domain error gets its status from
`app.web.status_of`; HTTP errors, CSRF, rate limits and a lost database are
handled here too.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, g, render_template, request, session, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from flask_wtf.form import _Auto
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.api import problems
from app.errors import AppError, RateLimited
from app.extensions import db
from app.web import is_htmx, safe_next, status_of

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
    status: int,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    without_database: bool = False,
    retry_url: str | None = None,
) -> ErrorResponse:
    """The error page (or, for HTMX, a toast); `retry_url` adds a "Try again" link there."""
    from app.templating import render_without_database

    if problems.is_api_request():
        return problems.problem(status, message, headers=headers)
    title = TITLES.get(status, "Error")
    render = render_without_database if without_database else render_template
    if is_htmx():
        body = render(
            "components/_toast.html",
            level="error",
            title=title,
            message=message,
            action_url=retry_url,
            action_label="Try again",
        )
        # Errors land in the toast area, whatever the request was aiming at, and leave the address bar alone:
        # a boosted form's POST URL pushed into history would be a 405 on reload.
        headers = {**(headers or {}), "HX-Retarget": "#toasts", "HX-Reswap": "beforeend", "HX-Push-Url": "false"}
    else:
        body = render("errors/error.html", status=status, title=title, message=message, retry_url=retry_url)
    response = (body, status, headers or {})
    return response


# A form whose CSRF token expired: "Try again" leads back to the form's page, where what was typed
# is filled in again, except anything secret. The safe fields wait in the (signed) session for one
# GET of that page; a form built there without explicit data reads them as if just posted.
RETRY_KEY = "_form_retry"
SECRET_FIELD = re.compile(r"password|passwd|passcode|card|cvc|cvv|code|token|secret|otp|pin|key|fingerprint|iban", re.I)
RETRY_MAX_CHARS = 2000  # the session is a cookie: keep what waits in it small


def safe_fields(form: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The posted fields worth keeping: none named like a secret, nothing long, no card-like numbers."""
    kept: list[tuple[str, str]] = []
    size = 0
    for name, value in form.items(multi=True):
        if SECRET_FIELD.search(name) or not value or len(value) > 500 or re.search(r"\d[\d ]{11,}", value):
            continue
        size += len(name) + len(value)
        if size > RETRY_MAX_CHARS:
            break
        kept.append((name, value))
    return kept


def retry_target() -> str:
    """Where "Try again" goes: the page the form was on (the Referer, when it is this site), else the
    form's own address when it can be fetched, else the home page."""
    for header in ("Referer", "HX-Current-URL"):
        parts = urlsplit(request.headers.get(header, ""))
        if parts.netloc == request.host and parts.scheme in ("http", "https"):
            target = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
            if target:
                return target
    rule = request.url_rule
    if rule is not None and rule.methods is not None and "GET" in rule.methods:
        return request.full_path.rstrip("?")
    return url_for("main.home")


def _take_retry_fields() -> None:
    """Before a GET of the page a retry waits for: hand its fields to this request's forms (once)."""
    if request.method != "GET" or request.endpoint == "static" or RETRY_KEY not in session:
        return
    waiting = session.get(RETRY_KEY) or {}
    if waiting.get("path") == request.path:
        session.pop(RETRY_KEY)
        g.form_retry = MultiDict([(str(name), str(value)) for name, value in waiting.get("fields", [])])


_flask_wtf_wrap_formdata = FlaskForm.Meta.wrap_formdata


def _wrap_formdata(self: Any, form: Any, formdata: Any) -> Any:
    wrapped = _flask_wtf_wrap_formdata(self, form, formdata)
    if formdata is _Auto and wrapped is None and request.method == "GET" and g.get("form_retry") is not None:
        return g.form_retry
    return wrapped


FlaskForm.Meta.wrap_formdata = _wrap_formdata  # the one hook a retry needs


def _no_post_address_in_history(response: Response) -> Response:
    """A boosted form answered in place (a refusal, a form shown again) at an address that has no GET page:
    the address bar keeps the page the form was on, since a reload of the POST address would be a 405."""
    rule = request.url_rule
    answers_get = rule is not None and "GET" in (rule.methods or ())
    if (
        is_htmx()
        and request.headers.get("HX-Boosted")
        and request.method != "GET"
        and not answers_get
        and not response.headers.get("HX-Push-Url")
    ):
        response.headers["HX-Push-Url"] = "false"
    return response


def register_errorhandlers(app: Flask) -> None:
    app.before_request(_take_retry_fields)
    app.after_request(_no_post_address_in_history)

    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> ErrorResponse:
        if problems.is_api_request():
            return problems.from_app_error(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return render_error(status_of(exc), exc.message, headers=headers)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> ErrorResponse:
        target = retry_target()
        fields = safe_fields(request.form)
        if fields:
            session[RETRY_KEY] = {"path": urlsplit(target).path, "fields": fields}
        return render_error(
            400,
            "Your form expired or came from elsewhere. Nothing was saved: try again, "
            "what you typed is kept (except passwords and card details).",
            retry_url=target,
        )

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
        if problems.is_api_request():
            return problems.from_http_exception(exc)
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
