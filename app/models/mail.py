"""Records of email delivery."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import UTCDateTime, utcnow

SEND_STATUSES = ("sending", "sent")


class SentEmail(Model):
    """One row per message, keyed by its idempotency key (the outbox job id).

    "sending" is committed before the SMTP call, with the Message-ID the message
    will carry; "sent" once the server accepted it. A retry that finds "sending"
    knows an earlier attempt may have reached the server, and sends (if it must)
    with the same Message-ID, so the recipient's mail client can fold the two.
    """

    __tablename__ = "sent_email"

    idempotency_key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    to: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str | None] = mapped_column(sa.String(60))
    message_id: Mapped[str | None] = mapped_column(sa.String(250))
    status: Mapped[str] = mapped_column(sa.String(10), default="sending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("status IN ('sending', 'sent')", name="status"),)


class DevMail(Model):
    """Development outbox: what would have gone out, readable at /dev/mail."""

    __tablename__ = "dev_mail"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    to: Mapped[str] = mapped_column(sa.String(320))
    sender: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    # The email kind (templates/email/<kind>), or "sms" for a text message.
    kind: Mapped[str | None] = mapped_column(sa.String(60))
    text: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
