"""What the identity pages share beyond app/web.py: the page that explains a wait."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm

from app.errors import RateLimited
from app.web import render_form


def render_limited(template: str, form: FlaskForm, exc: RateLimited, **context: Any) -> tuple[str, int, dict[str, str]]:
    """The form page again, with the wait explained above it: 429 and Retry-After."""
    form.retry_after = exc.retry_after
    return render_form(template, form, 429, limited=exc.message, **context)
