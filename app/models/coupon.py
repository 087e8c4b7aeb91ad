"""Coupons (the discount and its terms), promotion codes (what a customer types) and redemptions.

A coupon is a percent off (1–100) or an amount off in one currency's minor units, for `once`
(the first invoice), `repeating` (`cycles` invoices) or `forever`; for every product, or only
the products and plans it names. A promotion code names a coupon, with limits of its own.
A redemption is the use of a code by one checkout: `pending` while its payment is in flight
(it holds a place under max_redemptions), `redeemed` once paid (the counters go up), `released`
if the payment failed or the order was refunded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import JSONType, UTCDateTime, UUIDPk, utcnow

DURATIONS = ("once", "repeating", "forever")
REDEMPTION_STATUSES = ("pending", "redeemed", "released")
# What holds a place under a limit: a paid redemption, and one whose payment is in flight.
HOLDING = ("pending", "redeemed")


class Coupon(UUIDPk, Model):
    __tablename__ = "coupon"

    name: Mapped[str] = mapped_column(sa.String(100))
    percent_off: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    duration: Mapped[str] = mapped_column(sa.String(10))
    cycles: Mapped[int | None] = mapped_column()  # invoices discounted, for `repeating`
    # Empty: every product and plan.
    product_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    plan_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    max_redemptions: Mapped[int | None] = mapped_column()
    times_redeemed: Mapped[int] = mapped_column(default=0, server_default="0")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_purchase_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    codes: Mapped[list[PromotionCode]] = relationship(back_populates="coupon", lazy="raise_on_sql")

    __table_args__ = (
        sa.CheckConstraint(
            "(percent_off IS NOT NULL AND amount_off IS NULL AND currency IS NULL"
            " AND percent_off >= 1 AND percent_off <= 100)"
            " OR (percent_off IS NULL AND amount_off IS NOT NULL AND currency IS NOT NULL AND amount_off > 0)",
            name="percent_or_amount",
        ),
        sa.CheckConstraint("duration IN ('once', 'repeating', 'forever')", name="duration"),
        sa.CheckConstraint(
            "(duration = 'repeating' AND cycles >= 1) OR (duration <> 'repeating' AND cycles IS NULL)",
            name="cycles_when_repeating",
        ),
        sa.CheckConstraint("max_redemptions IS NULL OR max_redemptions >= 1", name="max_positive"),
        sa.Index("ix_coupon_created_at", "created_at"),
    )

    def terms(self) -> dict[str, Any]:
        return {
            "coupon_id": str(self.id),
            "name": self.name,
            "percent_off": None if self.percent_off is None else str(self.percent_off),
            "amount_off": self.amount_off,
            "currency": self.currency,
            "duration": self.duration,
            "cycles": self.cycles,
        }


class PromotionCode(UUIDPk, Model):
    __tablename__ = "promotion_code"

    coupon_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("coupon.id", ondelete="CASCADE"), index=True)
    coupon: Mapped[Coupon] = relationship(back_populates="codes", lazy="raise_on_sql")
    code: Mapped[str] = mapped_column(sa.String(40))
    max_redemptions: Mapped[int | None] = mapped_column()
    times_redeemed: Mapped[int] = mapped_column(default=0, server_default="0")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # Case-insensitive: SUMMER and summer are one code.
        sa.Index("uq_promotion_code_code", sa.func.lower(sa.text("code")), unique=True),
        sa.CheckConstraint("max_redemptions IS NULL OR max_redemptions >= 1", name="max_positive"),
    )


class Redemption(UUIDPk, Model):
    __tablename__ = "redemption"

    coupon_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("coupon.id", ondelete="RESTRICT"), index=True)
    promotion_code_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("promotion_code.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    checkout_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("checkout_attempt.id", ondelete="RESTRICT"), unique=True
    )
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("invoice.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("status IN ('pending', 'redeemed', 'released')", name="status"),)
