"""/dev/mail: the development outbox, where mail lands when there is no SMTP server."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, make_response, render_template

from app.extensions import db
from app.models.mail import DevMail

bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")


@bp.get("/")
def index():
    messages = db.session.scalars(sa.select(DevMail).order_by(DevMail.id.desc()).limit(100)).all()
    return render_template("dev/mail_index.html", messages=messages)


@bp.get("/<int:message_id>")
def detail(message_id: int):
    message = db.session.get(DevMail, message_id) or abort(404)
    return render_template("dev/mail_detail.html", message=message)


@bp.get("/<int:message_id>/html")
def html(message_id: int):
    """The HTML part alone, shown in a sandboxed iframe on the detail page."""
    message = db.session.get(DevMail, message_id) or abort(404)
    response = make_response(message.html or "")
    # The message is untrusted markup: no scripts, framable only by us.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
