"""What reconciliation found the gateway and our books disagree on, for an admin to look at."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.base import UTCDateTime, utcnow

MISMATCH_PROBLEMS = ("not_here", "failed_here", "paid_here", "amount", "refunded")


class PaymentMismatch(Model):
    """One payment at the gateway that our records don't match, as the latest reconciliation saw it.

    The table is the current report: each run keeps what it still finds (from `first_seen_at`) and drops
    what it no longer does. amount/currency are the gateway's; `ours` is what we hold, in words."""

    __tablename__ = "payment_mismatch"

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(sa.String(20))
    reference: Mapped[str] = mapped_column(sa.String(100))
    problem: Mapped[str] = mapped_column(sa.String(20))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(120))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("payment_transaction.id", ondelete="SET NULL")
    )
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    detail: Mapped[str] = mapped_column(sa.String(300))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("gateway", "reference", "problem", name="uq_payment_mismatch_gateway_reference_problem"),
        sa.CheckConstraint("problem IN ('not_here', 'failed_here', 'paid_here', 'amount', 'refunded')", name="problem"),
    )
