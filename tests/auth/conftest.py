"""Helpers for identity tests: what was queued, what people received, and apps with limits on."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.mail import DevMail
from app.models.outbox import OutboxMessage
from tests.support.jobs import JobRunner


def queued_jobs(app, func: str | None = None) -> list[dict]:
    """Jobs queued through the outbox (func, queue, args, kwargs), oldest first."""
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if func is not None:
            query = query.where(OutboxMessage.func == func)
        return [
            {"func": row.func, "queue": row.queue, "args": row.args, "kwargs": row.kwargs}
            for row in db.session.scalars(query)
        ]


def queued_emails(app, kind: str | None = None) -> list[dict]:
    """Emails queued with their payload (`jobs.email.send_email`), oldest first.

    Codes and reset links are not among them: their jobs carry only an id or the
    address, and the worker makes the message (see `delivered`).
    """
    messages = [{**job["args"][0], "queue": job["queue"]} for job in queued_jobs(app, "jobs.email.send_email")]
    return [m for m in messages if kind is None or m["template"] == kind]


def delivered(app, kind: str | None = None) -> list[DevMail]:
    """What reached people: every queued job is run through a real RQ worker, then the
    development outbox is read (emails by kind; text messages have kind "sms"), oldest first."""
    app.config["DEV_MAIL_OUTBOX"] = True
    JobRunner(app)()
    with app.app_context():
        query = sa.select(DevMail).order_by(DevMail.id)
        if kind is not None:
            query = query.where(DevMail.kind == kind)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
    return rows


def last_code(app, kind: str) -> str:
    """The code in the newest `kind` message (email kind, or "sms")."""
    return code_in(delivered(app, kind)[-1].text)


def reset_link(app) -> str:
    """The path of the link in the newest password-reset email."""
    return re.search(r"https?://[^/\s]+(/auth/password-reset/\S+)", delivered(app, "password_reset")[-1].text).group(1)


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def limited_app(make_app):
    """An app with rate limits on (Redis storage), as in production."""
    return make_app(RATELIMIT_ENABLED=True)
