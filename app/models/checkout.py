"""Checkout plumbing: the signed-in cart, idempotent checkout attempts, received webhook events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import JSONType, UTCDateTime, UUIDPk, utcnow


class CartItem(Model):
    """A signed-in user's cart line: one plan per product (anonymous carts live in the session)."""

    __tablename__ = "cart_item"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("product.id", ondelete="CASCADE"), primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(default=1)
    # The unit price the visitor saw when adding it: a later change is pointed out, not slipped in.
    seen_unit_price: Mapped[int] = mapped_column(sa.BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("quantity >= 1", name="quantity_positive"),)


class CheckoutAttempt(UUIDPk, Model):
    """One idempotency key: what was ordered, committed before the gateway is called; its outcome is replayed.

    status: processing (a bank transfer, never seen committed), charging (committed; the gateway may have
    been called), unreached (the gateway call failed without an answer), succeeded, declined, refunded
    (charged, but the order could no longer be honoured, so the money goes back).
    """

    __tablename__ = "checkout_attempt"

    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # sha256 of what was reviewed (lines, prices, fee, payment method): same key + other cart = refused.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    payment_method: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(12), default="processing")
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    # Everything needed to fulfil the order without the cart: lines with their prices, answers, who pays,
    # the card (see app/billing/orders.py). Reconciliation completes an order from this alone.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("payment_transaction.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEvent(Model):
    """Every payment event received, once (the provider's event id is the key)."""

    __tablename__ = "webhook_event"

    id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    # Who sent it, so a stored event is read (and applied later) the way its sender means it: sandbox, stripe.
    gateway: Mapped[str] = mapped_column(sa.String(20), default="sandbox", server_default="sandbox")
    type: Mapped[str] = mapped_column(sa.String(60))
    gateway_reference: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # processed; pending (its transaction is not known yet: applied later); ignored (stale or unknown type)
    status: Mapped[str] = mapped_column(sa.String(12))
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    event_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ix_webhook_event_waiting",
            "received_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
    )
