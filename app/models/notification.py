"""In-app notifications and the announcements broadcast to many users."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import UTCDateTime, UUIDPk, utcnow
from app.models.catalog import Product


class Announcement(UUIDPk, Model):
    """One broadcast: what was said, to whom, by whom, and how many it reached."""

    __tablename__ = "announcement"

    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str | None] = mapped_column(sa.String(500))
    audience: Mapped[str] = mapped_column(sa.String(20))  # "all" or "product"
    # SET NULL: the record of what was said outlives a deleted product.
    product_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("product.id", ondelete="SET NULL"))
    product: Mapped[Product | None] = relationship(lazy="raise_on_sql")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[bool] = mapped_column(default=True)
    recipient_count: Mapped[int] = mapped_column(default=0)
    batch_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    __table_args__ = (sa.CheckConstraint("audience IN ('all', 'product')", name="audience"),)


class Notification(UUIDPk, Model):
    __tablename__ = "notification"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    link: Mapped[str | None] = mapped_column(sa.String(500))
    is_read: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set on notifications fanned out from a broadcast; at most one per user and announcement.
    announcement_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("announcement.id", ondelete="CASCADE"))

    __table_args__ = (
        # "Unread of a user, newest first" and "all of a user, newest first".
        sa.Index("ix_notification_user_read_created", "user_id", "is_read", sa.text("created_at DESC")),
        # A re-run broadcast batch inserts nothing twice (INSERT … ON CONFLICT DO NOTHING).
        sa.UniqueConstraint("announcement_id", "user_id", name="uq_notification_announcement_user"),
        # The retention sweep: read rows by age, across all users.
        sa.Index(
            "ix_notification_read_created",
            "created_at",
            postgresql_where=sa.text("is_read"),
            sqlite_where=sa.text("is_read"),
        ),
    )
