"""Apply a gateway outcome to a transaction, and what follows from it (invoices, subscriptions, emails).

One function for every path that learns an outcome: the synchronous answer at
checkout or renewal, the webhook, and reconciliation. A checkout's order is
fulfilled (or refunded) from its recorded attempt when its payment succeeds, and a plan change's proration
invoice applies the change (app/billing/plan_changes.py). Transaction statuses only
move forward (pending → succeeded | failed, failed → succeeded, succeeded → refunded), so an event
that arrives late or twice changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.billing import invoices as invoice_service
from app.billing import notices, orders, plan_changes
from app.billing.states import transition
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction

MOVES = {
    "pending": frozenset({"succeeded", "failed", "refunded"}),
    "succeeded": frozenset({"refunded"}),
    # A declined Stripe PaymentIntent can be confirmed again and succeed: the money moved, so success wins
    # whichever order the two events arrive in (a failure after a success changes nothing).
    "failed": frozenset({"succeeded"}),
    "refunded": frozenset(),
}
# A failed renewal is retried this many days after the first failure, then the subscription expires.
RETRY_DAYS = (1, 3, 5)
# Charges that pay a subscription's period: the renewal itself, and the customer paying its open invoice
# on-session ("invoice"). Only a failed renewal moves the retry schedule; a failed on-session attempt
# leaves the invoice open for the next retry or attempt.
RENEWS = frozenset({"renewal", "invoice"})


def lock_transaction(where: sa.ColumnElement[bool]) -> Transaction | None:
    return db.session.scalar(
        sa.select(Transaction).where(where).with_for_update().execution_options(populate_existing=True)
    )


def lock_subscription(subscription_id: uuid.UUID) -> Subscription | None:
    return db.session.scalar(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.id == subscription_id)
        .with_for_update(of=Subscription)
        .execution_options(populate_existing=True)
    )


def apply_outcome(
    tx: Transaction,
    status: str,
    *,
    failure_code: str | None = None,
    message: str | None = None,
    now: datetime | None = None,
    invoices: list[Invoice] | None = None,
    subscription: Subscription | None = None,
) -> str:
    """Returns "applied", "unchanged" (already so) or "ignored" (an older state after a newer one).

    The caller holds the transaction's row lock; `invoices`/`subscription` may be passed
    when the caller already holds them locked (the renewal batch), else they are locked here.
    """
    if tx.status == status:
        return "unchanged"
    if status not in MOVES[tx.status]:
        return "ignored"
    now = now or utcnow()
    if tx.kind == "charge" and status == "refunded" and tx.status == "pending":
        # A refund event overtook the success event: the charge did succeed first.
        apply_outcome(tx, "succeeded", now=now, invoices=invoices, subscription=subscription)
    if status == "succeeded" and tx.status == "failed":
        tx.failure_code = tx.failure_message = None  # it went through after all
    tx.status = status
    tx.settled_at = now
    if status == "failed":
        tx.failure_code, tx.failure_message = failure_code, (message or "")[:300] or None
    if tx.kind == "refund":
        _refund_settled(tx, status, now)
    elif status == "succeeded":
        _charge_succeeded(tx, now, invoices, subscription)
    elif status == "failed" and tx.purpose == "renewal":
        _renewal_failed(tx, now, invoices, subscription, message or "Your card was declined.")
    elif status == "failed" and tx.purpose == "checkout":
        orders.declined(tx, now)
    elif status == "failed" and tx.purpose == "plan_change":
        plan_changes.declined(tx, now, message or "Your card was declined.")
    return "applied"


def _invoices_of(tx: Transaction, invoices: list[Invoice] | None) -> list[Invoice]:
    if invoices is not None:
        return invoices
    return list(
        db.session.scalars(
            sa.select(Invoice)
            .options(selectinload(Invoice.lines))
            .where(Invoice.transaction_id == tx.id)
            .order_by(Invoice.number)
            .with_for_update(of=Invoice)
            .execution_options(populate_existing=True)
        )
    )


def _charge_succeeded(
    tx: Transaction, now: datetime, invoices: list[Invoice] | None, subscription: Subscription | None
) -> None:
    if tx.purpose == "checkout" and invoices is None:
        # The order is fulfilled here, whoever learnt of the payment first (the submit, a webhook, reconciliation).
        invoices = orders.complete(tx, now)
    paid = _invoices_of(tx, invoices)
    for invoice in paid:
        if invoice_service.mark_paid(invoice, now=now):
            notices.receipt(invoice, paid_on=now)
    if tx.purpose == "plan_change" and paid:
        plan_changes.paid(tx, now)
    if tx.purpose in RENEWS and paid:
        sub = subscription or (lock_subscription(tx.subscription_id) if tx.subscription_id else None)
        if sub is not None:  # a renewal's transaction names its subscription
            renewed(sub, paid[0], now)


def renewed(sub: Subscription, invoice: Invoice, now: datetime) -> None:
    """A renewal invoice was paid: the subscription moves to the invoice's period."""
    if sub.status in ("expired", "cancelled"):
        return  # paid after it ended (a late settlement): the invoice is paid, access stays ended
    sub.current_period_start, sub.current_period_end = invoice.period_start, invoice.period_end
    if sub.status != "active":
        transition(sub, "active", now=now)
        notices.activated(sub, sub.product, sub.plan)


def _renewal_failed(
    tx: Transaction,
    now: datetime,
    invoices: list[Invoice] | None,
    subscription: Subscription | None,
    reason: str,
) -> None:
    invoice = _invoices_of(tx, invoices)
    sub = subscription or (lock_subscription(tx.subscription_id) if tx.subscription_id else None)
    if not invoice or sub is None or sub.status in ("expired", "cancelled"):
        return
    renewal_failed(sub, invoice[0], now, reason)


def renewal_failed(sub: Subscription, invoice: Invoice, now: datetime, reason: str) -> None:
    """past_due with retries 1, 3 and 5 days after the first failure; then expired. An email each step."""
    if sub.status == "past_due":
        sub.retry_count += 1
    else:
        transition(sub, "past_due", now=now)
        sub.retry_count = 0
    if sub.retry_count >= len(RETRY_DAYS):
        invoice.status = "uncollectible"
        transition(sub, "expired", now=now)
        notices.expired(sub, sub.product, f"We couldn't collect {invoice.number} after {len(RETRY_DAYS)} retries.")
        return
    anchor = invoice.issued_at or now
    sub.next_retry_at = max(anchor + timedelta(days=RETRY_DAYS[sub.retry_count]), now + timedelta(hours=1))
    notices.payment_failed(sub, sub.product, invoice, reason, sub.next_retry_at)


def _refund_settled(tx: Transaction, status: str, now: datetime) -> None:
    notes = _invoices_of(tx, None)
    if status == "failed":  # no money went back: its credit note is withdrawn
        for note in notes:
            if note.status == "draft":
                db.session.delete(note)  # never numbered: the series stays gapless
            else:
                note.status, note.voided_at = "void", now  # numbered when accepted: it keeps its number
        return
    if status != "succeeded":
        return
    invoice_service.finalize(notes, now=now)  # a draft is numbered now that the money is back
    for note in notes:
        invoice_service.mark_paid(note, now=now)  # a credit note is "paid" once the money is back
    parent = lock_transaction(Transaction.id == tx.parent_id) if tx.parent_id else None
    if parent is None or parent.status != "succeeded":
        return
    refunded = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Transaction.amount), 0)).where(
            Transaction.parent_id == parent.id, Transaction.kind == "refund", Transaction.status == "succeeded"
        )
    )
    if (refunded or 0) >= parent.amount:
        apply_outcome(parent, "refunded", now=now)
