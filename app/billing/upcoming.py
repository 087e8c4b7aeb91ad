"""The upcoming invoice of a subscription: when, its lines and total, or why there is none.

The lines come from the functions a renewal bills with (`renewals.next_line`, `renewals.next_period`,
`invoices.build_lines`) at today's prices and platform fee, so the preview is the invoice the
lifecycle run will issue unless a price or the fee changes first. A downgrade (or fewer seats) scheduled
for the period end is applied by that run before it bills, so the preview prices the new plan and seats
(`switch` names them). A retry bills the open invoice
again, so for a past-due subscription the preview is that invoice's own lines. Read only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app.billing import credit, plan_changes, renewals
from app.billing.invoices import build_lines
from app.catalog.fees import current_percent
from app.dates import format_date
from app.extensions import db
from app.models.billing import Invoice, InvoiceLine, PaymentMethod, Subscription


@dataclass(frozen=True)
class Upcoming:
    """`at` is None when no invoice is coming; `reason` then says why. Otherwise `note` says how it is paid."""

    at: datetime | None
    reason: str = ""
    note: str = ""
    lines: list[InvoiceLine] = field(default_factory=list)
    currency: str = ""
    period: tuple[datetime, datetime] | None = None
    retry_of: Invoice | None = None  # past due: the open invoice the next try bills again
    # What the customer's credit balance would pay of it, as the balance is now (renewals spend it first).
    from_credit: int = 0
    switch: str = ""  # the plan (and seats) a change scheduled for the period end switches to first

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


def upcoming_invoice(sub: Subscription, card: PaymentMethod | None) -> Upcoming:
    """What the lifecycle run will bill next (the same decisions, in the order `lifecycle` takes them).

    `card`: the customer's default card, or None."""
    if sub.status in ("expired", "cancelled"):
        return Upcoming(None, f"It {'expired' if sub.status == 'expired' else 'ended'} on {format_date(sub.ended_at)}.")
    if sub.status == "past_due":
        return _retry(sub)
    if sub.status not in ("trial", "active"):
        state = sub.status.replace("_", " ")
        return Upcoming(None, f"It is {state}: nothing is billed until it renews again.")
    ends = format_date(sub.current_period_end)
    if sub.cancel_at_period_end:
        return Upcoming(None, f"It cancels at the end of the period, on {ends}: no further invoice.")
    if not sub.auto_renew:
        return Upcoming(None, f"Auto-renew is off: it ends on {ends} without another invoice.")
    if sub.status == "trial":
        if card is None:
            return Upcoming(None, f"The trial ends on {ends}. There is no card on file, so it ends without a charge.")
        return _next(sub, card, f"Your trial converts to a paid subscription on {ends}, charged to {card.label}.")
    if sub.billing_method == "bank_transfer":
        days = current_app.config["BANK_TRANSFER_DUE_DAYS"]
        return _next(sub, card, f"Issued on {ends} for payment by bank transfer within {days} days.")
    if card is None:
        return _next(sub, card, "There is no card on file: add one before then, or the renewal payment fails.")
    return _next(sub, card, f"Charged to {card.label} on {ends}.")


def _next(sub: Subscription, card: PaymentMethod | None, note: str) -> Upcoming:
    # The lifecycle run applies scheduled changes at a renewal, not at a trial's end.
    change = plan_changes.due_at_renewal(sub) if sub.status == "active" else None
    period = renewals.next_period(sub, change)
    line = renewals.next_line(sub, current_percent(), change)
    lines = build_lines(line)
    from_credit = min(credit.balance_of(sub.user_id, line.currency), sum(x.amount for x in lines))
    return Upcoming(
        period[0],
        note=note,
        lines=lines,
        currency=line.currency,
        period=period,
        from_credit=max(from_credit, 0),
        switch=plan_changes.plan_label(*renewals.billed(sub, change)) if change is not None else "",
    )


def _retry(sub: Subscription) -> Upcoming:
    invoice = db.session.scalar(
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.subscription_id == sub.id, Invoice.kind == "invoice", Invoice.status == "open")
        .order_by(Invoice.issued_at.desc())
        .limit(1)
    )
    if invoice is None or sub.next_retry_at is None:
        return Upcoming(None, "The last payment failed; no retry is planned.")
    note = f"The payment of {invoice.number} failed; it is tried again on {format_date(sub.next_retry_at)}."
    period = (invoice.period_start, invoice.period_end) if invoice.period_start and invoice.period_end else None
    return Upcoming(
        sub.next_retry_at,
        note=note,
        lines=list(invoice.lines),
        currency=invoice.currency,
        period=period,
        retry_of=invoice,
    )
