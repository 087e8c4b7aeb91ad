"""Identity: users, roles and permissions, server-side sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.models.base import JSONType, Timestamps, UTCDateTime, UUIDPk, utcnow

role_permission = sa.Table(
    "role_permission",
    db.metadata,
    sa.Column("role_id", sa.ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("permission_id", sa.ForeignKey("permission.id", ondelete="CASCADE"), primary_key=True),
)


class Permission(Model):
    __tablename__ = "permission"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)  # e.g. "billing.refund"
    description: Mapped[str] = mapped_column(sa.String(200), default="")


class Role(Model):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)  # customer, support, admin, …
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    permissions: Mapped[list[Permission]] = relationship(
        secondary=role_permission, lazy="select", order_by=Permission.name
    )

    @property
    def permission_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.permissions)


class User(UUIDPk, Timestamps, UserMixin, Model):  # type: ignore[misc]  # UserMixin is Any: Flask-Login ships no types
    __tablename__ = "users"
    __table_args__ = (
        sa.Index("ix_users_created_at", "created_at"),  # admin lists order users newest first
        # A verified number belongs to one account and signs it in; unverified ones may collide
        # (typed at signup, never proven), so they can't be used to find out who has a number.
        sa.Index(
            "uq_users_verified_phone",
            "phone",
            unique=True,
            postgresql_where=sa.text("phone_verified_at IS NOT NULL"),
            sqlite_where=sa.text("phone_verified_at IS NOT NULL"),
        ),
        sa.Index("ix_users_phone", "phone"),
    )

    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # stored lower-cased
    username: Mapped[str] = mapped_column(sa.String(30), unique=True)  # normalized: strip().lower()
    phone: Mapped[str | None] = mapped_column(sa.String(16))  # E.164; see the indexes above
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))  # None: social-only account
    first_name: Mapped[str] = mapped_column(sa.String(80), default="")
    last_name: Mapped[str] = mapped_column(sa.String(80), default="")
    gender: Mapped[str | None] = mapped_column(sa.String(20))
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    address: Mapped[dict[str, str] | None] = mapped_column(JSONType)  # line1, line2, city, region, postal_code, country
    company: Mapped[str | None] = mapped_column(sa.String(120))  # billing details, printed on invoices
    tax_id: Mapped[str | None] = mapped_column(sa.String(60))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))  # IANA name; None: not chosen nor detected yet
    role_id: Mapped[int] = mapped_column(sa.ForeignKey("role.id"), index=True)
    role: Mapped[Role] = relationship(lazy="joined", innerjoin=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changes with every password change; reset tokens carry it, so old links die.
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the account was deleted: its personal data is erased, only the billing records remain.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def current_session_id(self) -> uuid.UUID | None:
        """The server-side session this request was authenticated by (set by the loader); not a column."""
        value: uuid.UUID | None = self.__dict__.get("_current_session_id")
        return value

    @current_session_id.setter
    def current_session_id(self, value: uuid.UUID | None) -> None:
        self.__dict__["_current_session_id"] = value

    def get_id(self) -> str:
        # Flask-Login stores the *session* id, not the user id: ending the
        # UserSession row logs that browser out, remember-me cookie included.
        return str(self.current_session_id) if self.current_session_id else ""

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def display_name(self) -> str:
        return self.username or self.first_name or self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class UserSession(UUIDPk, Model):
    """One signed-in browser. Ending it (revoked_at) signs that browser out."""

    __tablename__ = "user_session"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str] = mapped_column(sa.String(400), default="")
    device: Mapped[str] = mapped_column(sa.String(120), default="")  # "Chrome on macOS"
    remember: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ix_user_session_live",
            "user_id",
            "created_at",
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        ),
    )


class UsernameHold(Model):
    """A deleted account's username, kept from everyone until `held_until` (then purged)."""

    __tablename__ = "username_hold"

    username: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    held_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
