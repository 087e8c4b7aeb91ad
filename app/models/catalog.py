"""Catalog: products, their plans on five billing cycles, and the platform fee."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import JSONType, Timestamps, UTCDateTime, UUIDPk, utcnow
from app.money import discounted, percent_of

DOWNGRADE_TIMINGS = ("period_end", "now")
MAX_SEATS = 100  # the most seats a per-seat plan may allow
BILLING_CYCLES = ("weekly", "monthly", "quarterly", "half_yearly", "yearly")
CYCLE_LABELS = {
    "weekly": "Weekly",
    "monthly": "Monthly",
    "quarterly": "Quarterly",
    "half_yearly": "Half-yearly",
    "yearly": "Yearly",
}
# Months per cycle, for monthly-normalized figures (weekly = 12/52 of a month).
CYCLE_MONTHS = {
    "weekly": Decimal(12) / Decimal(52),
    "monthly": Decimal(1),
    "quarterly": Decimal(3),
    "half_yearly": Decimal(6),
    "yearly": Decimal(12),
}


class Product(UUIDPk, Timestamps, Model):
    __tablename__ = "product"

    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    tagline: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    category: Mapped[str] = mapped_column(sa.String(60), index=True)
    icon: Mapped[str] = mapped_column(sa.String(40), default="")
    is_active: Mapped[bool] = mapped_column(default=True, index=True)
    # Whether a paused subscription keeps its access (see Subscription.has_access).
    access_while_paused: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # What the product needs at checkout: a small JSON-Schema subset (see app/catalog/schema.py).
    product_schema: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # When a switch to a cheaper plan takes effect: at the period end (a scheduled change), or at once with
    # the unused part credited to the customer's credit balance.
    downgrade_timing: Mapped[str] = mapped_column(sa.String(12), default="period_end", server_default="period_end")
    plans: Mapped[list[Plan]] = relationship(back_populates="product", order_by="Plan.sort_order", lazy="raise_on_sql")

    __table_args__ = (sa.CheckConstraint("downgrade_timing IN ('period_end', 'now')", name="downgrade_timing"),)


class Plan(UUIDPk, Timestamps, Model):
    __tablename__ = "plan"

    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("product.id", ondelete="RESTRICT"), index=True)
    product: Mapped[Product] = relationship(back_populates="plans", lazy="raise_on_sql")
    name: Mapped[str] = mapped_column(sa.String(80))
    billing_cycle: Mapped[str] = mapped_column(sa.String(20))
    price: Mapped[int] = mapped_column(sa.BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    discount_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    trial_days: Mapped[int] = mapped_column(default=0)
    features: Mapped[list[str]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    # Priced per seat: the subscription's quantity (min_seats–max_seats) multiplies the price; otherwise it is 1.
    per_seat: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    min_seats: Mapped[int] = mapped_column(default=1, server_default="1")
    max_seats: Mapped[int] = mapped_column(default=MAX_SEATS, server_default=str(MAX_SEATS))

    __table_args__ = (
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
        sa.CheckConstraint(
            f"min_seats >= 1 AND max_seats >= min_seats AND max_seats <= {MAX_SEATS}", name="seat_limits"
        ),
        sa.CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount_range"),
        sa.CheckConstraint("trial_days >= 0", name="trial_days_not_negative"),
        sa.CheckConstraint(
            "billing_cycle IN ('weekly', 'monthly', 'quarterly', 'half_yearly', 'yearly')", name="billing_cycle"
        ),
        sa.Index("ix_plan_product_cycle", "product_id", "billing_cycle"),
    )

    @property
    def discount_amount(self) -> int:
        return percent_of(self.price, self.discount_percent or 0)

    @property
    def final_price(self) -> int:
        """price × (1 − discount), ROUND_HALF_UP to the minor unit."""
        return discounted(self.price, self.discount_percent or 0)


class PlatformFee(Model):
    """The singleton platform-fee setting (id is always 1)."""

    __tablename__ = "platform_fee"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("id = 1", name="singleton"),
        sa.CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
    )


class PlatformFeeChange(UUIDPk, Model):
    """History of the platform fee: every change, who made it and why."""

    __tablename__ = "platform_fee_change"

    old_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    new_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def search_document(table: sa.Table | None = None) -> sa.ColumnElement[Any]:
    """The weighted full-text document of a product: name (A) > tagline and category (B) > description (C).

    The GIN index and the search query use this one expression, so Postgres can match the two.
    """
    c = (table if table is not None else Product.__table__).c

    # Literals as text (not bound parameters): an index expression must be constant.
    def weighted(text: sa.ColumnElement[Any], weight: str) -> sa.ColumnElement[Any]:
        return sa.func.setweight(sa.func.to_tsvector(sa.text("'english'"), text), sa.text(f"'{weight}'"))

    return (
        weighted(c.name, "A")
        .op("||")(weighted(c.tagline.op("||")(sa.text("' '")).op("||")(c.category), "B"))
        .op("||")(weighted(c.description, "C"))
    )


# Full-text search is Postgres-only; SQLite (the embedded default) searches with a plain match.
sa.Index("ix_product_search", search_document(), postgresql_using="gin").ddl_if(dialect="postgresql")
