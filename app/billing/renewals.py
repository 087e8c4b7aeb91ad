"""Charging a subscription for its next period (trial end, renewal, retry) and bank-transfer renewals.

Called by the lifecycle steps on a batch of subscriptions whose rows they hold
locked. Everything a batch needs (users, cards, the fee) is loaded once per
batch, so the SQL per subscription stays the same however many there are.

A charge is recorded (invoice and pending transaction, committed) before the
gateway is called, and its answer applied in a transaction of its own: if the
database drops in between, reconciliation finds the pending payment and settles
it with the gateway's answer, and no later run charges that period again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption

from app.billing import coupons, credit, notices
from app.billing import invoices as invoice_service
from app.billing.gateway import GatewayResult, GatewayUnavailable, PaymentGateway, get_gateway
from app.billing.periods import add_cycle
from app.billing.pricing import PricedLine, price_line
from app.billing.settlement import apply_outcome, renewal_failed, renewed
from app.catalog.fees import current_percent
from app.extensions import db
from app.models.base import UUIDPk
from app.models.billing import Invoice, PaymentMethod, PlanChange, Subscription, Transaction
from app.models.catalog import Plan
from app.models.credit import CreditBalance
from app.models.user import User

M = TypeVar("M", bound=UUIDPk)


@dataclass
class Batch:
    now: datetime
    gateway: PaymentGateway
    fee_percent: Decimal
    users: dict[uuid.UUID, User] = field(default_factory=dict)
    cards: dict[uuid.UUID, PaymentMethod] = field(default_factory=dict)
    open_invoices: dict[tuple[Any, ...], Invoice] = field(default_factory=dict)
    # The batch's customers' credit balances above zero, locked: spent before any card is charged.
    credits: dict[tuple[uuid.UUID, str], CreditBalance] = field(default_factory=dict)
    drafts: list[Invoice] = field(default_factory=list)


def load_batch(subs: list[Subscription], now: datetime) -> Batch:
    user_ids = list({s.user_id for s in subs})
    batch = Batch(now=now, gateway=get_gateway(), fee_percent=current_percent())
    batch.users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))}
    batch.cards = {
        c.user_id: c
        for c in db.session.scalars(
            sa.select(PaymentMethod).where(PaymentMethod.user_id.in_(user_ids), PaymentMethod.is_default.is_(True))
        )
    }
    batch.credits = {
        (row.user_id, row.currency): row
        for row in db.session.scalars(
            sa.select(CreditBalance)
            .where(CreditBalance.user_id.in_(user_ids), CreditBalance.balance > 0)
            .order_by(CreditBalance.user_id, CreditBalance.currency)
            .with_for_update()
        )
    }
    # Retries bill the invoice already issued for the period.
    retrying = [s.id for s in subs if s.status == "past_due"]
    if retrying:
        for invoice in db.session.scalars(
            sa.select(Invoice)
            .options(selectinload(Invoice.lines))
            .where(Invoice.subscription_id.in_(retrying), Invoice.kind == "invoice", Invoice.status == "open")
            .with_for_update(of=Invoice)
        ):
            batch.open_invoices[(invoice.subscription_id, invoice.period_start)] = invoice
    return batch


def billed(sub: Subscription, change: PlanChange | None = None) -> tuple[Plan, int]:
    """The plan and seats the next renewal bills: the subscription's own, or those of the change scheduled for
    the period end (which `plan_changes.apply` switches the subscription to before the renewal is billed)."""
    return (change.to_plan, change.to_quantity) if change is not None else (sub.plan, sub.quantity)


def next_period(sub: Subscription, change: PlanChange | None = None) -> tuple[datetime, datetime]:
    start = sub.current_period_end or sub.trial_end or sub.started_at
    return start, add_cycle(start, billed(sub, change)[0].billing_cycle)


def next_line(sub: Subscription, fee_percent: Decimal, change: PlanChange | None = None) -> PricedLine:
    """What the next period costs: the plan line as renewals bill it, with the subscription's coupon while its
    duration lasts. The upcoming-invoice preview passes the change scheduled for the period end, which the
    lifecycle run applies before it calls this: both price the same plan and seats."""
    plan, quantity = billed(sub, change)
    return price_line(plan, sub.product, quantity, fee_percent, coupons.renewal_terms(sub))


def invoice_for(sub: Subscription, batch: Batch, method: str, label: str) -> Invoice:
    """The open invoice of the period being billed, or a new draft (numbered by `finalize_drafts`)."""
    if sub.status == "past_due":
        existing = batch.open_invoices.get((sub.id, sub.current_period_end))
        if existing is not None:
            return existing
    period = next_period(sub)
    line = next_line(sub, batch.fee_percent)
    invoice = invoice_service.draft_invoice(
        user=batch.users[sub.user_id], line=line, subscription_id=sub.id, method=method, label=label, period=period
    )
    if line.coupon is not None:
        coupons.use_on_renewal(sub)
    batch.drafts.append(invoice)
    return invoice


def finalize_drafts(batch: Batch) -> None:
    """Number the batch's new invoices together: one counter lock per batch, not per invoice."""
    invoice_service.finalize(batch.drafts, now=batch.now)
    batch.drafts.clear()


def card_invoice(sub: Subscription, batch: Batch) -> Invoice:
    card = batch.cards.get(sub.user_id)
    return invoice_for(sub, batch, "card", card.label if card else "Card")


@dataclass(frozen=True)
class Charge:
    """A renewal charge recorded as pending, with what the gateway call needs once the batch has committed."""

    tx_id: uuid.UUID
    user_id: uuid.UUID
    subscription_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: int
    currency: str
    token: str
    key: str
    description: str


def paid_from_credit(sub: Subscription, invoice: Invoice, batch: Batch) -> bool:
    """Spend the customer's credit balance on a finalized invoice; True when it paid all of it (no card call:
    the invoice is paid by balance and the subscription renewed)."""
    row = batch.credits.get((sub.user_id, invoice.currency))
    if row is None or row.balance <= 0:
        return False
    credit.apply_to_invoice(invoice, row)
    if invoice.amount_due > 0:
        return False
    invoice_service.mark_paid(invoice, now=batch.now)
    notices.receipt(invoice, paid_on=batch.now)
    renewed(sub, invoice, batch.now)
    return True


def record_charge(sub: Subscription, invoice: Invoice, batch: Batch) -> Charge | None:
    """A pending transaction for what is left to pay of a finalized invoice (committed by the caller before
    any call).

    None when there is no card on file: the renewal fails at once, nothing is charged.
    """
    card = batch.cards.get(sub.user_id)
    if card is None:
        renewal_failed(sub, invoice, batch.now, "There is no card on file for this subscription.")
        return None
    attempt = sub.retry_count + 1 if sub.status == "past_due" else 0
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=sub.user_id,
        subscription_id=sub.id,
        kind="charge",
        purpose="renewal",
        status="pending",
        amount=invoice.amount_due,
        currency=invoice.currency,
        gateway=batch.gateway.name,
        idempotency_key=f"renewal:{invoice.id}:{attempt}",
        payment_method_id=card.id,
    )
    db.session.add(tx)
    invoice.transaction_id = tx.id
    return Charge(
        tx.id,
        sub.user_id,
        sub.id,
        invoice.id,
        invoice.amount_due,
        invoice.currency,
        card.token,
        tx.idempotency_key,
        f"{sub.product.name} {sub.plan.name} renewal",
    )


def call(charge: Charge, gateway: PaymentGateway) -> GatewayResult | None:
    """Charge the card on file off-session (the customer isn't there: a bank asking them to confirm is a
    decline, `authentication_required`); None when the gateway did not answer (reconciliation asks it later).
    The metadata names the payment at the gateway (with Stripe: the user's customer, the card's owner)."""
    try:
        return gateway.charge(
            amount=charge.amount,
            currency=charge.currency,
            token=charge.token,
            idempotency_key=charge.key,
            off_session=True,
            description=charge.description,
            metadata={
                "transaction_id": str(charge.tx_id),
                "user_id": str(charge.user_id),
                "invoice_ids": str(charge.invoice_id),
            },
        )
    except GatewayUnavailable:
        return None


def settle(answered: list[tuple[Charge, GatewayResult]], now: datetime) -> None:
    """Apply the answers in one transaction, locking the rows again in the order webhooks and reconciliation
    lock them (payments, invoices, subscriptions). If it fails, the payments stay pending for reconciliation."""
    if not answered:
        return
    txs = _locked(Transaction, [c.tx_id for c, _ in answered])
    invoices = _locked(Invoice, [c.invoice_id for c, _ in answered], selectinload(Invoice.lines))
    subs = _locked(
        Subscription,
        [c.subscription_id for c, _ in answered],
        selectinload(Subscription.plan),
        selectinload(Subscription.product),
    )
    # The receipts name their customers: load them again in one query (the commit before the calls expired them).
    db.session.scalars(sa.select(User).where(User.id.in_({s.user_id for s in subs.values()}))).all()
    for charge, result in answered:
        tx = txs[charge.tx_id]
        tx.gateway_reference = tx.gateway_reference or result.reference
        apply_outcome(
            tx,
            result.status,
            failure_code=result.failure_code,
            message=result.message,
            now=now,
            invoices=[invoices[charge.invoice_id]],
            subscription=subs[charge.subscription_id],
        )


def _locked(model: type[M], ids: list[uuid.UUID], *options: ORMOption) -> dict[uuid.UUID, M]:
    rows = db.session.scalars(
        sa.select(model)
        .options(*options)
        .where(model.id.in_(ids))
        .order_by(model.id)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


def bank_transfer_invoice(sub: Subscription, batch: Batch) -> Invoice:
    """The next period's invoice, due in N days; access continues meanwhile (the grace period)."""
    invoice = invoice_for(sub, batch, "bank_transfer", "Bank transfer")
    invoice.due_at = batch.now + timedelta(days=current_app.config["BANK_TRANSFER_DUE_DAYS"])
    sub.current_period_start, sub.current_period_end = invoice.period_start, invoice.period_end
    return invoice
