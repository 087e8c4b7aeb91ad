"""Transactional outbox: jobs are written with the data and relayed to RQ after commit.

A row is *pending* until it is handed to RQ (`enqueued_at`), *in flight* until its
job has finished (`finished_at`) or was parked in RQ's failed registry after its
last retry (`failed_at`). Rows in flight longer than OUTBOX_VISIBILITY_SECONDS are
looked up in RQ and handed over again if Redis lost them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import JSONType, UTCDateTime, utcnow

IN_FLIGHT = "enqueued_at IS NOT NULL AND finished_at IS NULL AND failed_at IS NULL"


class OutboxMessage(Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    func: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    queue: Mapped[str] = mapped_column(sa.String(20), default="default")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the row was last handed to RQ (or last found still queued there).
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)  # hand-offs that failed (Redis unavailable)
    deliveries: Mapped[int] = mapped_column(default=0)  # hand-offs to RQ; more than one is a redelivery
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Without BASE_URL, the origin of the request that queued the job: its links point back there.
    origin: Mapped[str | None] = mapped_column(sa.String(255))

    __table_args__ = (
        # The relay looks for rows not yet handed to RQ …
        sa.Index(
            "ix_outbox_message_pending",
            "id",
            postgresql_where=sa.text("enqueued_at IS NULL"),
            sqlite_where=sa.text("enqueued_at IS NULL"),
        ),
        # … and for rows handed off long ago whose job has not finished.
        sa.Index(
            "ix_outbox_message_in_flight",
            "enqueued_at",
            postgresql_where=sa.text(IN_FLIGHT),
            sqlite_where=sa.text(IN_FLIGHT),
        ),
    )

    @property
    def job_id(self) -> str:
        return f"outbox-{self.id}"


class PeriodicJob(Model):
    """When each periodic job was last queued, so a restarted or new scheduler keeps the schedule."""

    __tablename__ = "periodic_job"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
