"""A customer's credit balance: a ledger of signed entries per currency, and the running balance kept beside it.

The balance row is locked FOR UPDATE for every entry, in the transaction that writes the entry, so
the cached `balance` always equals the sum of the entries and a CHECK keeps it from going below zero.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import UTCDateTime, UUIDPk, utcnow

# refund: a refund to the balance; downgrade: the unused part of a plan changed down at once;
# adjustment: staff's, with a reason; applied: spent on an invoice (or a checkout's invoices); returned: given
# back when what it was applied to was not paid after all (a declined checkout).
CREDIT_SOURCES = ("refund", "downgrade", "adjustment", "applied", "returned")


class CreditBalance(Model):
    __tablename__ = "credit_balance"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    balance: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.CheckConstraint("balance >= 0", name="not_negative"),)


class CreditEntry(UUIDPk, Model):
    """One movement of a balance: `amount` > 0 adds credit, < 0 spends it; `balance_after` is the balance then."""

    __tablename__ = "credit_entry"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    balance_after: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(12))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    # What it came from or went to: the invoice it paid, the credit note it came from, the checkout it paid.
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("invoice.id", ondelete="RESTRICT"), index=True)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("invoice.id", ondelete="RESTRICT"))
    checkout_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("checkout_attempt.id", ondelete="SET NULL"), index=True
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="not_zero"),
        sa.CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        sa.CheckConstraint("source IN ('refund', 'downgrade', 'adjustment', 'applied', 'returned')", name="source"),
        sa.Index("ix_credit_entry_user_created", "user_id", "created_at"),
    )
