"""What every page adapter shares: one way from a form to a service and back.

A view parses with a WTForms form, calls one service inside `service_errors(form)`,
and renders with `render_form` or redirects with `see_other`:

    form = ChangePasswordForm()
    if form.validate_on_submit():
        with service_errors(form):
            reset.change_password(current_user, **form.command())
            return see_other("account.profile", message="Password changed.")
    return render_form("account/password.html", form)

A service's ValidationError lands on the fields it names (an error about the whole
input, or about a field the form lacks, on the form's first field); the other domain
errors a person can act on land there too, with their own status. The status of
every domain error is decided here, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.errors import (
    FORM,
    AppError,
    AuthenticationError,
    Conflict,
    ExternalServiceError,
    NotFound,
    PaymentDeclined,
    PermissionDenied,
    RateLimited,
    ValidationError,
)

# The HTTP status of each domain error (a subclass takes its nearest ancestor's).
STATUS: dict[type[AppError], int] = {
    ValidationError: 400,
    AuthenticationError: 401,
    PaymentDeclined: 402,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    ExternalServiceError: 502,
    AppError: 500,
}

# Errors shown beside the form that caused them; the rest (NotFound, PermissionDenied …) get the error page.
ON_THE_FORM: tuple[type[AppError], ...] = (
    ValidationError,
    AuthenticationError,
    Conflict,
    PaymentDeclined,
    RateLimited,
    ExternalServiceError,
)


def status_of(exc: AppError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def attach_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Put each message on the field it names; FORM (or a name the form lacks) goes on its first field."""
    fields = [f for f in form if f.name != "csrf_token"]
    for name, message in errors.items():
        field = form[name] if name != FORM and name in form else fields[0]
        field.errors = [*field.errors, message]


@contextmanager
def service_errors(form: FlaskForm, *, on_the_form: tuple[type[AppError], ...] = ON_THE_FORM) -> Iterator[None]:
    """Run a service call for `form`: the errors a person can fix land on the form (and set its status).

    Code after the `with` block runs only when the service raised one of those, so the
    success path returns from inside the block and the view ends with `render_form`.
    """
    try:
        yield
    except on_the_form as exc:
        errors = exc.errors if isinstance(exc, ValidationError) else {exc.field or FORM: exc.message}
        attach_errors(form, errors)
        form.status = status_of(exc)
        if isinstance(exc, RateLimited):
            form.retry_after = exc.retry_after


def render_form(
    template: str, form: FlaskForm, status: int | None = None, **context: object
) -> tuple[str, int, dict[str, str]]:
    """The page with its form: 200, the status of the error the service raised, or 400 for field errors."""
    status = status or getattr(form, "status", None) or (400 if form.errors else 200)
    headers = {"Retry-After": str(form.retry_after)} if getattr(form, "retry_after", None) else {}
    return render_template(template, form=form, **context), status, headers


def see_other(endpoint: str, *, message: str | None = None, category: str = "success", **values: Any) -> Response:
    """Redirect (303) to `endpoint` after a successful POST, with an optional flash message."""
    if message:
        flash(message, category)
    return redirect(url_for(endpoint, **values), 303)


def safe_next(value: str | None = None) -> str | None:
    """`value` (by default ?next=) if it is a path on this site; never another host (no open redirect)."""
    target = request.args.get("next") if value is None else value
    if not target or len(target) > 2000 or any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
