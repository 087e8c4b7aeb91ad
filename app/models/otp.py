"""One-time codes (email verification, login by code, phone verification, proving an address)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import UTCDateTime, UUIDPk, utcnow

OTP_PURPOSES = ("verify_email", "verify_phone", "login", "link_email", "reauth", "change_email")
OTP_STATUSES = ("active", "used", "void", "expired")


class UserOTP(UUIDPk, Model):
    """One issued code. Only an HMAC of the code is stored, never the code.

    A code without a user proves an email address (`target`) before any account
    uses it: social sign-in asks for one when the provider gave none.
    """

    __tablename__ = "user_otp"

    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(30))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    # What the code proves possession of when it isn't the account email (a new phone, an address).
    target: Mapped[str | None] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(10), default="active")
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # "The codes of this user and purpose, newest first": issue, verify, cooldown and the hourly cap.
        sa.Index("ix_user_otp_user_purpose_created", "user_id", "purpose", "created_at"),
        sa.Index("ix_user_otp_status_created", "status", "created_at"),
        # The same, for codes that prove an address before it has an account.
        sa.Index(
            "ix_user_otp_target_purpose_created",
            "target",
            "purpose",
            "created_at",
            postgresql_where=sa.text("user_id IS NULL"),
            sqlite_where=sa.text("user_id IS NULL"),
        ),
        sa.CheckConstraint("status IN ('active', 'used', 'void', 'expired')", name="status"),
        sa.CheckConstraint("user_id IS NOT NULL OR target IS NOT NULL", name="owner"),
    )
