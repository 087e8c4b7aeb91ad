"""Second factors: an authenticator app (TOTP) per account, and its single-use recovery codes."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import UTCDateTime, UUIDPk, utcnow


class TotpFactor(Model):
    """An account's authenticator app. The secret is Fernet-encrypted (app/auth/mfa_keys.py), never stored plain."""

    __tablename__ = "totp_factor"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    # The last 30-second step a code was accepted for: that step and earlier ones are refused (one use per code).
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(UUIDPk, Model):
    """One single-use recovery code; only its keyed HMAC-SHA256 is stored."""

    __tablename__ = "recovery_code"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
