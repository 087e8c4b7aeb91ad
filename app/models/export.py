"""A person's copy of their data (ASVS V14, data protection): prepared by a job, downloaded once ready."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import UTCDateTime, UUIDPk, utcnow

EXPORT_STATUSES = ("preparing", "ready", "failed")


class DataExport(UUIDPk, Model):
    """One export. The JSON document is stored in the row (`content`) until the cleanup job purges it.

    The download link carries a token signed from the row id (app/account/exports.py); nothing secret is stored."""

    __tablename__ = "data_export"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="preparing")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.CheckConstraint("status IN ('preparing', 'ready', 'failed')", name="status"),)
