"""Passkeys (WebAuthn credentials): a public key an account signs in with, one row per authenticator."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import JSONType, UTCDateTime, utcnow


class WebAuthnCredential(Model):
    """One registered passkey. The private key never leaves the authenticator; we keep its public half."""

    __tablename__ = "webauthn_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The authenticator's id for the key (raw bytes, at most 1023 by the spec): how a sign-in finds the row.
    credential_id: Mapped[bytes] = mapped_column(sa.LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)  # COSE-encoded
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSONType, default=list)  # "internal", "usb", "hybrid" …
    name: Mapped[str] = mapped_column(sa.String(60))
    backup_eligible: Mapped[bool] = mapped_column(default=False)  # a synced (multi-device) passkey
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
