"""Billing views, one module per page family. Views parse input and render; services do the work."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from app.web import is_htmx


def back_to(endpoint: str, **values: Any) -> Response:
    """After a plain form POST: 303 to the page (HTMX requests get their fragment instead)."""
    return redirect(url_for(endpoint, **values), code=303)


def wants_fragment() -> bool:
    return is_htmx() and not request.headers.get("HX-Boosted")


def _register_filters() -> None:
    from app.billing import bp
    from app.billing.invoices import percent_text
    from app.billing.services import pauses

    bp.add_app_template_filter(percent_text, "percent")
    bp.add_app_template_global(pauses.choices, "pause_choices")
    bp.add_app_template_global(pauses.refusal, "pause_refusal")


_register_filters()
from app.billing.routes import cart, checkout, invoices, pay, plan_change, subscriptions, webhook  # noqa: E402,F401
