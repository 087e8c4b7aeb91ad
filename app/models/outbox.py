"""Transactional outbox: jobs are written with the data and relayed to RQ after commit."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, UTCDateTime, utcnow


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    func: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list] = mapped_column(JSONType, default=list)
    kwargs: Mapped[dict] = mapped_column(JSONType, default=dict)
    queue: Mapped[str] = mapped_column(sa.String(20), default="default")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Without BASE_URL, the origin of the request that queued the job: its links point back there.
    origin: Mapped[str | None] = mapped_column(sa.String(255))

    __table_args__ = (
        # The relay only ever looks for rows not yet handed to RQ.
        sa.Index(
            "ix_outbox_message_pending",
            "id",
            postgresql_where=sa.text("enqueued_at IS NULL"),
            sqlite_where=sa.text("enqueued_at IS NULL"),
        ),
    )

    @property
    def job_id(self) -> str:
        return f"outbox-{self.id}"
