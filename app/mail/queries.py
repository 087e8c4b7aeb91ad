"""Reads of the development outbox (/dev/mail)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from app.errors import NotFound
from app.extensions import db
from app.models.mail import DevMail


def recent_dev_mail(limit: int = 100) -> Sequence[DevMail]:
    """The newest messages first."""
    return db.session.scalars(sa.select(DevMail).order_by(DevMail.id.desc()).limit(limit)).all()


def dev_mail(message_id: int) -> DevMail:
    message = db.session.get(DevMail, message_id)
    if message is None:
        raise NotFound("No such message in the development outbox.")
    return message
