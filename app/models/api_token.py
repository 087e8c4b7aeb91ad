"""Bearer tokens of the JSON API: opaque random strings, only their SHA-256 kept.

One table for every kind. `access` (15 minutes) and `refresh` tokens belong to an API sign-in,
which is a `UserSession` row like a browser's (device = the client's name): ending that row on the
sessions page ends every token of it. A refresh token is used once: refreshing sets `rotated_at`
and issues the next one; presenting a rotated one again revokes the whole sign-in (the family).
`mfa` tokens are the 5-minute challenge between the password and the second factor (such a row keeps
the first factor's method in `scopes` and the client's name in `name`, for the sign-in it completes). `pat` rows
are personal access tokens for scripts: no sign-in, the scopes chosen when they were made.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import UTCDateTime, UUIDPk, utcnow
from app.models.user import User, UserSession

TOKEN_KINDS = ("access", "refresh", "mfa", "pat")


class ApiToken(UUIDPk, Model):
    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user_session.id", ondelete="CASCADE"), index=True
    )
    session: Mapped[UserSession | None] = relationship()
    kind: Mapped[str] = mapped_column(sa.String(10))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 hex of the token
    scopes: Mapped[str] = mapped_column(sa.String(100), default="")  # space-separated
    name: Mapped[str] = mapped_column(sa.String(80), default="")  # a personal token's label
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a refresh token already exchanged
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(TOKEN_KINDS), name="kind"),)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())
