"""Social sign-in: which provider account (Google, Facebook …) belongs to which user."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import UTCDateTime, UUIDPk, utcnow
from app.models.user import User


class SocialAccount(UUIDPk, Model):
    """One provider identity. Keyed on provider + subject: emails change, subjects don't."""

    __tablename__ = "social_account"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    provider: Mapped[str] = mapped_column(sa.String(20))  # "google", "facebook"
    subject: Mapped[str] = mapped_column(sa.String(255))  # the provider's stable user id ("sub", Graph "id")
    email: Mapped[str | None] = mapped_column(sa.String(254))  # as the provider last reported it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)
