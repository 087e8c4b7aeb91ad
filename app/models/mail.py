"""Records of email delivery."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class SentEmail(db.Model):
    """One row per delivered message: its idempotency key makes a re-run a no-op."""

    __tablename__ = "sent_email"

    idempotency_key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    to: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DevMail(db.Model):
    """Development outbox: what would have gone out, readable at /dev/mail."""

    __tablename__ = "dev_mail"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    to: Mapped[str] = mapped_column(sa.String(320))
    sender: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    text: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
