"""Carrying out a recorded plan change: switch the plan, the proration invoice or credit note, what follows.

Used by the customer's change (app/billing/services/plan_changes.py), by settlement when the proration
invoice's payment succeeds or fails (so a webhook or reconciliation that learns it first applies it, once, under
the payment's row lock), and by the lifecycle run, which applies scheduled downgrades at renewal.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.billing import credit, notices
from app.billing.invoices import bill_to
from app.billing.proration import Proration
from app.dates import format_date
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, InvoiceLine, PlanChange, Subscription, Transaction
from app.models.catalog import Plan
from app.models.user import User
from app.money import percent_text


def _period_text(start: datetime, end: datetime) -> str:
    return f"{format_date(start)} – {format_date(end)}"


def plan_label(plan: Plan, quantity: int) -> str:
    """ "Team" or, on a per-seat plan, "Team × 5 seats"."""
    if not plan.per_seat:
        return plan.name
    return f"{plan.name} × {quantity} seat{'' if quantity == 1 else 's'}"


def proration_lines(
    p: Proration, old: Plan, new: Plan, *, sign: int = 1, old_quantity: int = 1, new_quantity: int = 1
) -> list[InvoiceLine]:
    """The lines of a proration document, each with its dates and arithmetic. `sign` -1: as a credit note
    shows them (what is credited positive). The quantities name the seats on per-seat plans."""
    unused = _period_text(p.at, p.period_end)
    old_name, new_name = plan_label(old, old_quantity), plan_label(new, new_quantity)
    lines: list[tuple[str, str, uuid.UUID | None, int]] = []
    if p.charge:
        rest = _period_text(p.new_period_start, p.new_period_end)
        arithmetic = (
            "full period"
            if p.new_period_end != p.period_end
            else f"{p.unused_seconds:,} of {p.period_seconds:,} seconds"
        )
        lines.append(("proration", f"Remaining time on {new_name} · {rest} ({arithmetic})", new.id, p.charge))
    if p.credit:
        arithmetic = f"{p.unused_seconds:,} of {p.period_seconds:,} seconds"
        lines.append(("proration", f"Unused time on {old_name} · {unused} ({arithmetic})", old.id, -p.credit))
    if p.fee:
        lines.append(("fee", f"Platform fee ({percent_text(p.fee_percent)}%)", None, p.fee))
    return [
        InvoiceLine(
            position=i,
            kind=kind,
            description=text,
            plan_id=plan_id,
            quantity=1,
            unit_amount=sign * amount,
            amount=sign * amount,
        )
        for i, (kind, text, plan_id, amount) in enumerate(lines)
    ]


def proration_document(
    change: PlanChange, p: Proration, user: User, old: Plan, new: Plan, *, method: str, label: str
) -> Invoice:
    """A draft invoice for what is due now, or (the credit exceeds the charge) a credit note for what is owed
    back. Either way its lines add up to its total; the caller numbers it (`invoices.finalize`)."""
    credit_note = p.total < 0
    sign = -1 if credit_note else 1
    document = Invoice(
        id=uuid.uuid4(),
        kind="credit_note" if credit_note else "invoice",
        status="draft",
        user_id=user.id,
        subscription_id=change.subscription_id,
        payment_method=method,
        payment_label=label,
        currency=change.currency,
        subtotal=sign * p.net,
        discount=0,
        fee=sign * p.fee,
        fee_percent=p.fee_percent,
        total=sign * p.total,
        # Not before this very instant: the proration is reckoned to the second, but a subscription bought (or
        # changed) earlier in the same second holds an invoice starting then (one invoice per period start).
        period_start=max(p.new_period_start, utcnow()),
        period_end=p.new_period_end,
        bill_to=bill_to(user),
        note=(
            f"Credit for switching to {new.name}: added to your credit balance, which pays your next invoices "
            "before your card is charged."
            if credit_note
            else ""
        ),
        lines=proration_lines(
            p, old, new, sign=sign, old_quantity=change.from_quantity, new_quantity=change.to_quantity
        ),
    )
    db.session.add(document)
    return document


def apply(change: PlanChange, sub: Subscription, plan: Plan, now: datetime) -> None:
    """Switch the subscription to the change's plan and seats (and its new period for a cycle change); notify,
    audit."""
    old, old_quantity = sub.plan, sub.quantity
    sub.plan, sub.quantity = plan, change.to_quantity
    if change.kind == "cycle" and change.new_period_start and change.new_period_end:
        sub.current_period_start, sub.current_period_end = change.new_period_start, change.new_period_end
    change.status, change.applied_at = "applied", now
    notices.plan_changed(sub, sub.product, old, plan, now, scheduled=False)
    audit.record(
        "subscription.plan_changed",
        actor_id=change.user_id,
        target=sub,
        before={"plan": old.name, "plan_id": str(old.id), "quantity": old_quantity},
        after={
            "plan": plan.name,
            "plan_id": str(plan.id),
            "quantity": sub.quantity,
            "kind": change.kind,
            "total": change.total,
            "change": str(change.id),
        },
    )


def _lock_change(where: sa.ColumnElement[bool]) -> PlanChange | None:
    return db.session.scalar(
        sa.select(PlanChange)
        .options(selectinload(PlanChange.to_plan))
        .where(where)
        .with_for_update(of=PlanChange)
        .execution_options(populate_existing=True)
    )


def paid(tx: Transaction, now: datetime) -> None:
    """The proration invoice is paid (settlement holds the payment's lock): apply the change, once."""
    change = _lock_change(PlanChange.transaction_id == tx.id)
    if change is None or change.status != "charging":
        return
    sub = db.session.scalar(
        sa.select(Subscription)
        .options(selectinload(Subscription.plan), selectinload(Subscription.product))
        .where(Subscription.id == change.subscription_id)
        .with_for_update(of=Subscription)
        .execution_options(populate_existing=True)
    )
    if sub is None or not sub.is_live:
        change.status, change.message = "declined", "The subscription ended before the payment was confirmed."
        return
    apply(change, sub, change.to_plan, now)


def declined(tx: Transaction, now: datetime, message: str) -> None:
    """The proration invoice's payment failed: nothing changes; the invoice is voided, the change says why."""
    change = _lock_change(PlanChange.transaction_id == tx.id)
    if change is None or change.status != "charging":
        return
    change.status, change.message = "declined", message[:300]
    for invoice in db.session.scalars(
        sa.select(Invoice).where(Invoice.transaction_id == tx.id, Invoice.status == "open").with_for_update()
    ):
        invoice.status, invoice.voided_at = "void", now
        credit.give_back_invoice(invoice, f"{invoice.number} voided: the payment was declined")
    audit.record(
        "subscription.plan_change_declined",
        actor_id=change.user_id,
        target_type="subscription",
        target_id=str(change.subscription_id),
        after={"change": str(change.id), "reason": change.message},
    )


def due_at_renewal(sub: Subscription) -> PlanChange | None:
    """The scheduled change the next renewal applies before it bills (what `apply_due` finds at the period end),
    or None. Read only: the upcoming-invoice preview prices the renewal with it."""
    if sub.current_period_end is None:
        return None
    return db.session.scalar(
        sa.select(PlanChange)
        .options(selectinload(PlanChange.to_plan))
        .where(
            PlanChange.subscription_id == sub.id,
            PlanChange.status == "scheduled",
            PlanChange.effective_at <= sub.current_period_end,
        )
        .limit(1)
    )


def apply_due(subs: list[Subscription], now: datetime) -> int:
    """Apply the scheduled changes of these (locked) subscriptions that are due, before they are renewed.
    Returns how many were applied."""
    by_id = {s.id: s for s in subs}
    if not by_id:
        return 0
    due = list(
        db.session.scalars(
            sa.select(PlanChange)
            .options(selectinload(PlanChange.to_plan))
            .where(
                PlanChange.subscription_id.in_(by_id),
                PlanChange.status == "scheduled",
                PlanChange.effective_at <= now,
            )
            .with_for_update(of=PlanChange)
        )
    )
    for change in due:
        apply(change, by_id[change.subscription_id], change.to_plan, now)
    return len(due)
