"""/dev/mail: the development outbox, where mail lands when there is no SMTP server."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template
from werkzeug.wrappers import Response

from app.mail import queries

bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")


@bp.get("/")
def index() -> str:
    messages = queries.recent_dev_mail()
    return render_template("dev/mail_index.html", messages=messages)


@bp.get("/<int:message_id>")
def detail(message_id: int) -> str:
    message = queries.dev_mail(message_id)
    return render_template("dev/mail_detail.html", message=message)


@bp.get("/<int:message_id>/html")
def html(message_id: int) -> Response:
    """The HTML part alone, shown in a sandboxed iframe on the detail page."""
    message = queries.dev_mail(message_id)
    response = make_response(message.html or "")
    # The message is untrusted markup: no scripts, framable only by us.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
