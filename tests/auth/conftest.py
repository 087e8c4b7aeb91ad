"""Helpers for identity tests: what was emailed or texted, and apps with limits on."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.outbox import OutboxMessage


def queued_emails(app, kind: str | None = None) -> list[dict]:
    """Emails queued through the outbox (the payload the send job receives), oldest first."""
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.func == "jobs.email.send_email")
                                  .order_by(OutboxMessage.id)).all()
        messages = [{**row.args[0], "queue": row.queue} for row in rows]
    return [m for m in messages if kind is None or m["template"] == kind]


def queued_texts(app) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.func == "jobs.auth.send_sms")
                                  .order_by(OutboxMessage.id)).all()
        return [{"to": row.args[0], "body": row.args[1], "queue": row.queue} for row in rows]


def last_code(app, kind: str) -> str:
    return queued_emails(app, kind)[-1]["context"]["code"]


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def limited_app(make_app):
    """An app with rate limits on (Redis storage), as in production."""
    return make_app(RATELIMIT_ENABLED=True)
