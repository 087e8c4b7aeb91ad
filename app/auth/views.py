"""Small helpers the auth and account views share."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for

from app.errors import AppError, RateLimited


def form_error(form, exc: AppError) -> None:
    """Show a service's error next to the field it names (or the form's first field)."""
    if exc.field and exc.field in form:
        field = form[exc.field]
    else:
        field = next(f for f in form if f.name != "csrf_token")
    field.errors = [*field.errors, exc.message]


def render_form(template: str, form, status: int | None = None, **context):
    """The page with its form; 400 when the form has errors, unless told otherwise."""
    return render_template(template, form=form, **context), status or (400 if form.errors else 200)


def render_limited(template: str, exc: RateLimited, **context):
    """A form page that explains the wait, with 429 and Retry-After."""
    body = render_template(template, limited=exc.message, **context)
    return body, 429, {"Retry-After": str(exc.retry_after)}


def safe_next(value: str | None = None) -> str | None:
    """`value` (by default ?next=) if it is a path on this site; never another host (no open redirect)."""
    target = request.args.get("next") if value is None else value
    if not target or len(target) > 2000 or any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def see_other(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), 303)


def mask_email(email: str | None) -> str:
    """a•••@example.com: enough to recognise, not enough to harvest."""
    if not email or "@" not in email:
        return "your email address"
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"
