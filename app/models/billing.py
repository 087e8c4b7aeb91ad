"""Subscriptions (the billing engineer adds invoices, transactions and the rest here)."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONType, Timestamps, UTCDateTime, UUIDPk, utcnow
from app.models.catalog import Plan, Product
from app.models.user import User

SUBSCRIPTION_STATUSES = ("trial", "active", "past_due", "expired", "cancelled")


class Subscription(UUIDPk, Timestamps, db.Model):
    __tablename__ = "subscription"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    user: Mapped[User] = relationship(lazy="raise_on_sql")
    plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("plan.id", ondelete="RESTRICT"), index=True)
    plan: Mapped[Plan] = relationship(lazy="raise_on_sql")
    # Denormalized from the plan: "one trial per user per product" and per-product queries.
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("product.id", ondelete="RESTRICT"), index=True)
    product: Mapped[Product] = relationship(lazy="raise_on_sql")
    status: Mapped[str] = mapped_column(sa.String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set only on subscriptions begun as a trial
    auto_renew: Mapped[bool] = mapped_column(default=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Answers to the product's checkout schema (company name, seats …).
    answers: Mapped[dict] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('trial', 'active', 'past_due', 'expired', 'cancelled')", name="status"
        ),
        # One trial per user per product, ever.
        sa.Index("uq_subscription_one_trial", "user_id", "product_id", unique=True,
                 postgresql_where=sa.text("trial_end IS NOT NULL"), sqlite_where=sa.text("trial_end IS NOT NULL")),
        sa.Index("ix_subscription_status_period_end", "status", "current_period_end"),
        sa.Index("ix_subscription_status_trial_end", "status", "trial_end"),
    )
