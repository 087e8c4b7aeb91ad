"""Billing: subscriptions, invoices and their lines, transactions, stored cards, the invoice counter.

Money is BIGINT minor units with a currency; every amount on an invoice is the sum
of its lines (see app/billing/pricing.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.base import JSONType, Timestamps, UTCDateTime, UUIDPk, utcnow
from app.models.catalog import Plan, Product
from app.models.user import User

SUBSCRIPTION_STATUSES = ("trial", "active", "past_due", "paused", "expired", "cancelled")
# Not ended: it can go on (a paused one resumes by itself). Access while paused is the product's setting.
LIVE_STATUSES = ("trial", "active", "past_due", "paused")
ACCESS_STATUSES = ("trial", "active", "past_due")
BILLING_METHODS = ("card", "bank_transfer")
INVOICE_KINDS = ("invoice", "credit_note")
# disputed: paid, then the card holder disputed the payment with their bank (a chargeback).
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible", "disputed")
TRANSACTION_KINDS = ("charge", "refund")
TRANSACTION_STATUSES = ("pending", "succeeded", "failed", "refunded")
PLAN_CHANGE_KINDS = ("upgrade", "downgrade", "cycle")
# charging: its invoice is being paid; scheduled: waits for the period end; the others are final.
PLAN_CHANGE_STATUSES = ("charging", "scheduled", "applied", "declined", "cancelled")
OPEN_PLAN_CHANGES = ("charging", "scheduled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Subscription(UUIDPk, Timestamps, Model):
    __tablename__ = "subscription"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    user: Mapped[User] = relationship(lazy="raise_on_sql")
    plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("plan.id", ondelete="RESTRICT"), index=True)
    plan: Mapped[Plan] = relationship(lazy="raise_on_sql")
    # Denormalized from the plan: "one trial per user per product" and per-product queries.
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("product.id", ondelete="RESTRICT"), index=True)
    product: Mapped[Product] = relationship(lazy="raise_on_sql")
    status: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[int] = mapped_column(default=1, server_default="1")
    # How renewals are paid: the card on file, or a bank-transfer invoice with a grace period.
    billing_method: Mapped[str] = mapped_column(sa.String(20), default="card", server_default="card")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set only on subscriptions begun as a trial
    trial_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_renew: Mapped[bool] = mapped_column(default=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failed renewal: how many retries were made and when the next one runs.
    retry_count: Mapped[int] = mapped_column(default=0, server_default="0")
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A pause: no invoices from pause_start (the end of a paid period) until pause_end, when the period end has
    # moved by the paused time. Set while it is scheduled (status active) and while it runs (status paused).
    pause_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pause_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Answers to the product's checkout schema (company name, seats …).
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The coupon redeemed at checkout, as its terms were then (Coupon.terms()) with "left": how many more
    # renewal invoices it discounts (None: forever). None: no coupon.
    coupon: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        sa.CheckConstraint(_in("status", SUBSCRIPTION_STATUSES), name="status"),
        sa.CheckConstraint(_in("billing_method", BILLING_METHODS), name="billing_method"),
        sa.CheckConstraint("quantity >= 1", name="quantity_positive"),
        # One trial per user per product, ever.
        sa.Index(
            "uq_subscription_one_trial",
            "user_id",
            "product_id",
            unique=True,
            postgresql_where=sa.text("trial_end IS NOT NULL"),
            sqlite_where=sa.text("trial_end IS NOT NULL"),
        ),
        # At most one live subscription per user per product (a trial converts in place).
        sa.Index(
            "uq_subscription_one_live",
            "user_id",
            "product_id",
            unique=True,
            postgresql_where=sa.text("status IN ('trial', 'active', 'past_due', 'paused')"),
            sqlite_where=sa.text("status IN ('trial', 'active', 'past_due', 'paused')"),
        ),
        sa.Index("ix_subscription_status_period_end", "status", "current_period_end"),
        sa.Index("ix_subscription_started_at", "started_at"),
        sa.Index("ix_subscription_status_trial_end", "status", "trial_end"),
        sa.Index("ix_subscription_status_next_retry", "status", "next_retry_at"),
        # The lifecycle's "pauses starting" and "pauses ending" steps.
        sa.Index("ix_subscription_status_pause_start", "status", "pause_start"),
        sa.Index("ix_subscription_status_pause_end", "status", "pause_end"),
        sa.CheckConstraint("pause_end IS NULL OR pause_end > pause_start", name="pause_ends_after_start"),
    )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def pause_scheduled(self) -> bool:
        """A pause is set to start at the end of the paid period (it hasn't started yet)."""
        return self.status == "active" and self.pause_start is not None

    @property
    def has_access(self) -> bool:
        """Whether the customer may use the product now; a paused one only if its product says so (product
        must be loaded)."""
        if self.status == "paused":
            return self.product.access_while_paused
        return self.status in ACCESS_STATUSES


class BillingClock(Model):
    """The instant of the latest lifecycle run (one row): `flask billing run --at` only moves it forward."""

    __tablename__ = "billing_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    latest_run_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)


class InvoiceCounter(Model):
    """The last number issued per series and year. Locked FOR UPDATE to number an invoice: gapless."""

    __tablename__ = "invoice_counter"

    series: Mapped[str] = mapped_column(sa.String(8), primary_key=True)  # INV, CN
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class Transaction(UUIDPk, Timestamps, Model):
    """One attempt to move money: a checkout or renewal charge, or a refund."""

    __tablename__ = "payment_transaction"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # Set for renewal charges (one subscription); checkout charges pay several invoices.
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("subscription.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(sa.String(10), default="charge")
    purpose: Mapped[str] = mapped_column(sa.String(20))  # checkout, renewal, invoice, plan_change, refund, …
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    gateway: Mapped[str] = mapped_column(sa.String(20))  # sandbox, stripe, bank_transfer; balance: a refund to it
    gateway_reference: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # Sent to the gateway so a retried call never charges twice.
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    payment_method_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("payment_method.id", ondelete="SET NULL"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("payment_transaction.id", ondelete="RESTRICT"))
    failure_code: Mapped[str | None] = mapped_column(sa.String(40))
    failure_message: Mapped[str | None] = mapped_column(sa.String(300))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint(_in("kind", TRANSACTION_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", TRANSACTION_STATUSES), name="status"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        # Reconciliation: "pending, oldest first".
        sa.Index(
            "ix_transaction_pending",
            "created_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_transaction_subscription_status", "subscription_id", "status"),
        sa.Index("ix_transaction_created_at", "created_at"),
    )


class Invoice(UUIDPk, Timestamps, Model):
    __tablename__ = "invoice"

    # Assigned when the invoice is finalized (draft → open), from InvoiceCounter.
    number: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(12), default="invoice")
    status: Mapped[str] = mapped_column(sa.String(14), default="draft")
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("subscription.id", ondelete="RESTRICT"), index=True
    )
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("payment_transaction.id", ondelete="RESTRICT"), index=True
    )
    transaction: Mapped[Transaction | None] = relationship(lazy="raise_on_sql")
    original_invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT"), index=True
    )  # credit notes: what they credit
    checkout_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("checkout_attempt.id", ondelete="SET NULL"), index=True
    )
    payment_method: Mapped[str] = mapped_column(sa.String(20))  # card, bank_transfer
    payment_label: Mapped[str] = mapped_column(sa.String(80), default="")  # "Visa •••• 4242"
    currency: Mapped[str] = mapped_column(sa.String(3))
    subtotal: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    discount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    fee: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    fee_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Paid from the customer's credit balance (a payment, not a discount: the total and its tax base stand);
    # the card or transfer pays `amount_due`.
    credit_applied: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who it is billed to, as it was when issued (a later profile change does not rewrite invoices).
    bill_to: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Who issued it (name, address, tax_id), as the seller settings were when it was numbered.
    seller: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", lazy="raise_on_sql", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint(_in("kind", INVOICE_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", INVOICE_STATUSES), name="status"),
        sa.CheckConstraint("status = 'draft' OR number IS NOT NULL", name="numbered_when_final"),
        sa.CheckConstraint("total = subtotal - discount + fee", name="total_adds_up"),
        sa.CheckConstraint("credit_applied >= 0 AND credit_applied <= total", name="credit_within_total"),
        # One invoice per subscription per period (a voided one may be replaced).
        sa.Index(
            "uq_invoice_subscription_period",
            "subscription_id",
            "period_start",
            unique=True,
            postgresql_where=sa.text("kind = 'invoice' AND status <> 'void'"),
            sqlite_where=sa.text("kind = 'invoice' AND status <> 'void'"),
        ),
        sa.Index("ix_invoice_user_issued", "user_id", "issued_at"),
        # The admin list's default order: newest first, read off the index instead of sorting 200k rows.
        sa.Index("ix_invoice_issued_at", "issued_at"),
        sa.Index("ix_invoice_status_due", "status", "due_at"),
    )

    @property
    def amount_due(self) -> int:
        """What is left for the card or the transfer once the credit balance paid its part."""
        return self.total - (self.credit_applied or 0)  # None until a new row is flushed


class SellerSettings(Model):
    """The singleton seller-details setting printed on invoices (id is always 1; absent: config defaults)."""

    __tablename__ = "seller_settings"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str] = mapped_column(sa.String(1000), default="")
    tax_id: Mapped[str] = mapped_column(sa.String(60), default="")
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.CheckConstraint("id = 1", name="singleton"),)


class InvoiceLine(UUIDPk, Model):
    __tablename__ = "invoice_line"

    invoice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("invoice.id", ondelete="CASCADE"), index=True)
    invoice: Mapped[Invoice] = relationship(back_populates="lines", lazy="raise_on_sql")
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(sa.String(12))  # plan, discount, fee
    description: Mapped[str] = mapped_column(sa.String(300))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("plan.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_amount: Mapped[int] = mapped_column(sa.BigInteger)
    # Signed: discount lines are negative, so the invoice total is the plain sum of its lines.
    amount: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.CheckConstraint("kind IN ('plan', 'discount', 'fee', 'proration')", name="kind"),)


class PaymentMethod(UUIDPk, Model):
    """A card on file: the gateway's token, brand, last 4 and expiry. Never the number."""

    __tablename__ = "payment_method"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    gateway: Mapped[str] = mapped_column(sa.String(20))
    token: Mapped[str] = mapped_column(sa.String(120), unique=True)
    brand: Mapped[str] = mapped_column(sa.String(20))
    last4: Mapped[str] = mapped_column(sa.String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    holder_name: Mapped[str] = mapped_column(sa.String(100), default="")
    is_default: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("length(last4) = 4", name="last4_length"),
        sa.Index(
            "uq_payment_method_one_default",
            "user_id",
            unique=True,
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        ),
    )

    @property
    def label(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class PaymentCustomer(Model):
    """A user's customer record at a gateway that keeps customers (Stripe's `cus_…`), created on first need.

    A table of its own rather than a column on users: the id belongs to one gateway (and one Stripe
    account), users stays gateway-agnostic, and (user_id, gateway) as the key makes a racing second
    insert a conflict instead of a second customer.
    """

    __tablename__ = "payment_customer"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    gateway: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanChange(UUIDPk, Timestamps, Model):
    """A customer's change of plan, as previewed: its proration, and whether it is applied, scheduled or declined.

    One per idempotency key (a double submit finds the first), at most one open (charging or scheduled) per
    subscription. Amounts are signed minor units: `total` > 0 was charged, < 0 credited (a credit note).
    """

    __tablename__ = "plan_change"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("subscription.id", ondelete="CASCADE"), index=True)
    from_plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("plan.id", ondelete="RESTRICT"))
    to_plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("plan.id", ondelete="RESTRICT"))
    to_plan: Mapped[Plan] = relationship(foreign_keys=[to_plan_id], lazy="raise_on_sql")
    from_quantity: Mapped[int] = mapped_column(default=1, server_default="1")  # seats before and after
    to_quantity: Mapped[int] = mapped_column(default=1, server_default="1")
    kind: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[str] = mapped_column(sa.String(12))
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    previewed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the instant the amounts are computed for
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)  # now, or the period end for a scheduled one
    currency: Mapped[str] = mapped_column(sa.String(3))
    credit: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    charge: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    fee: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    new_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("invoice.id", ondelete="SET NULL"))
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("payment_transaction.id", ondelete="SET NULL"), index=True
    )
    message: Mapped[str] = mapped_column(sa.String(300), default="")
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint(_in("kind", PLAN_CHANGE_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", PLAN_CHANGE_STATUSES), name="status"),
        sa.CheckConstraint("total = charge - credit + fee", name="total_adds_up"),
        sa.CheckConstraint("from_quantity >= 1 AND to_quantity >= 1", name="quantities_positive"),
        sa.Index(
            "uq_plan_change_one_open",
            "subscription_id",
            unique=True,
            postgresql_where=sa.text("status IN ('charging', 'scheduled')"),
            sqlite_where=sa.text("status IN ('charging', 'scheduled')"),
        ),
        sa.Index("ix_plan_change_status_effective", "status", "effective_at"),
    )
