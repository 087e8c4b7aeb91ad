"""A subscription's timeline: every event it went through, as typed entries gathered from sources.

Each source reads one kind of record (the subscription row, its audit events, its invoices and
payments) with a fixed number of queries, however many events there are, and turns it into
`Entry`s. A new kind of record (plan changes, pauses with a table of their own) is one more
function in `SOURCES`. An audit action the app records later shows up by itself, under a title made
from its name, until `AUDIT_TITLES` gives it a better one.

Read only: nothing here writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.billing.services import payment_methods
from app.billing.upcoming import Upcoming, upcoming_invoice
from app.dates import format_date
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction


@dataclass(frozen=True)
class Entry:
    """One event. `kind` names it for styling and tests; `title` and `detail` are what a person reads."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    amount: int | None = None
    currency: str = ""
    invoice_id: uuid.UUID | None = None
    invoice_number: str | None = None
    by_staff: bool = False

    @property
    def upcoming(self) -> bool:
        """A date still ahead (a trial that ends next week), shown as scheduled rather than done."""
        return self.at > utcnow()


Source = Callable[[Subscription], Iterable[Entry]]


def from_the_row(sub: Subscription) -> Iterable[Entry]:
    """Start and end, from the subscription's own dates (no query)."""
    if sub.trial_end is not None:
        yield Entry(sub.started_at, "trial_started", "Trial started")
    else:
        yield Entry(sub.started_at, "created", "Subscribed")
    if sub.ended_at is not None:
        if sub.status == "expired":
            yield Entry(sub.ended_at, "expired", "Expired")
        elif sub.cancel_at_period_end:
            yield Entry(sub.ended_at, "ended", "Ended at the period end, as scheduled")
        else:
            yield Entry(sub.ended_at, "ended", "Cancelled", "Access ended at once.")


def from_trial(sub: Subscription) -> Iterable[Entry]:
    """A trial's end: ahead (scheduled), passed, or cut short by a checkout (its first invoice came first).
    One query, for trials only."""
    if sub.trial_end is None or (sub.ended_at is not None and sub.ended_at < sub.trial_end):
        return  # no trial, or cancelled during it: the row's end entry says so
    first_invoice = db.session.scalar(
        sa.select(sa.func.min(Invoice.issued_at)).where(
            Invoice.subscription_id == sub.id, Invoice.kind == "invoice", Invoice.status != "draft"
        )
    )
    if first_invoice is not None and first_invoice < sub.trial_end:
        yield Entry(first_invoice, "trial_end", "Trial ended early: subscribed at checkout")
    else:
        yield Entry(sub.trial_end, "trial_end", "Trial ends" if sub.trial_end > utcnow() else "Trial ended")


# Known audit actions on a subscription: (kind, title). None: the row already says it (see from_the_row).
AUDIT_TITLES: dict[str, tuple[str, str] | None] = {
    "subscription.trial_started": None,
    "subscription.auto_renew": ("auto_renew", "Auto-renew turned {onoff}"),
    "subscription.resume": ("resumed", "Resumed"),
    "subscription.trial_extended": ("trial_extended", "Trial extended by {days} days"),
    "subscription.pause": ("paused", "Paused"),
    "subscription.plan_changed": ("plan_changed", "Plan changed"),
    "subscription.plan_change_scheduled": ("plan_change_scheduled", "Plan change scheduled"),
    "subscription.plan_change_cancelled": ("plan_change_cancelled", "Scheduled plan change called off"),
    "subscription.plan_change_declined": ("plan_change_declined", "Plan change payment declined"),
    "subscription.plan_change_charging": None,  # the charge's outcome follows as its own event
}


def from_audit(sub: Subscription) -> Iterable[Entry]:
    """What people did to it (the customer, staff, account deletion): its audit events, one query."""
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.target_type == "subscription", AuditEvent.target_id == str(sub.id))
        .order_by(AuditEvent.created_at)
    )
    for event in events:
        entry = _audit_entry(sub, event)
        if entry is not None:
            yield entry


def _audit_entry(sub: Subscription, event: AuditEvent) -> Entry | None:
    after, before = event.after or {}, event.before or {}
    by_staff = event.actor_id is not None and event.actor_id != sub.user_id
    if event.action == "subscription.cancel":
        if after.get("when") != "period_end":
            return None  # cancelled at once: the row's "Cancelled" entry says it, at the same moment
        ends = "It ends at the end of the paid period instead of renewing."
        return Entry(event.created_at, "cancel_scheduled", "Cancellation scheduled", ends, by_staff=by_staff)
    if event.action not in AUDIT_TITLES:
        title = event.action.removeprefix("subscription.").replace("_", " ").capitalize()
        return Entry(event.created_at, event.action.removeprefix("subscription."), title, by_staff=by_staff)
    known = AUDIT_TITLES[event.action]
    if known is None:
        return None
    kind, title = known
    values = {"onoff": "on" if after.get("auto_renew") else "off", "days": after.get("days", "")}
    return Entry(event.created_at, kind, title.format(**values), _audit_detail(event, before, after), by_staff=by_staff)


def _audit_detail(event: AuditEvent, before: dict[str, Any], after: dict[str, Any]) -> str:
    if event.action == "subscription.resume":
        if before.get("status") == "paused":
            return "The pause ended early."
        return "The scheduled cancellation is off: it renews as usual."
    old, new = before.get("plan"), after.get("plan")
    if old and new and old != new:
        return f"From {old} to {new}."
    return f"To {new}." if new else ""


def from_billing(sub: Subscription) -> Iterable[Entry]:
    """Invoices issued, paid, voided; credit notes; renewal payments that failed or were retried. Two queries."""
    invoices = list(
        db.session.scalars(
            sa.select(Invoice)
            .where(Invoice.subscription_id == sub.id, Invoice.status != "draft")
            .order_by(Invoice.issued_at, Invoice.number)
        )
    )
    for invoice in invoices:
        yield from _invoice_entries(invoice)
    charges = db.session.scalars(
        sa.select(Transaction)
        .where(Transaction.subscription_id == sub.id, Transaction.kind == "charge", Transaction.purpose == "renewal")
        .order_by(Transaction.created_at)
    )
    billed = [i for i in invoices if i.kind == "invoice" and i.issued_at is not None]
    previous_failed = False
    for tx in charges:
        # A renewal bills the invoice issued just before it; its retries bill that same invoice again.
        paid_for = next((i for i in reversed(billed) if i.issued_at and i.issued_at <= tx.created_at), None)
        if previous_failed:
            yield _payment(tx, paid_for, tx.created_at, "renewal_retried", "Payment retried")
        if tx.status == "failed":
            reason = tx.failure_message or "The payment was declined."
            yield _payment(tx, paid_for, tx.settled_at or tx.created_at, "payment_failed", "Payment failed", reason)
        previous_failed = tx.status == "failed"


def _payment(tx: Transaction, invoice: Invoice | None, at: datetime, kind: str, title: str, detail: str = "") -> Entry:
    return Entry(
        at,
        kind,
        title,
        detail,
        amount=tx.amount,
        currency=tx.currency,
        invoice_id=invoice.id if invoice else None,
        invoice_number=invoice.number if invoice else None,
    )


def _invoice_entries(invoice: Invoice) -> Iterable[Entry]:
    link: dict[str, Any] = {
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "amount": invoice.total,
        "currency": invoice.currency,
    }
    if invoice.kind == "credit_note":
        if invoice.issued_at:
            yield Entry(invoice.issued_at, "credit_note", "Refund issued (credit note)", **link)
        return
    if invoice.issued_at:
        yield Entry(invoice.issued_at, "invoice_issued", "Invoice issued", _period_text(invoice), **link)
    if invoice.paid_at:
        paid_by = f"Paid by {invoice.payment_label}." if invoice.payment_label else ""
        yield Entry(invoice.paid_at, "invoice_paid", "Invoice paid", paid_by, **link)
    if invoice.voided_at:
        yield Entry(invoice.voided_at, "invoice_void", "Invoice voided", **link)


def _period_text(invoice: Invoice) -> str:
    if invoice.period_start is None or invoice.period_end is None:
        return ""
    return f"For {format_date(invoice.period_start)} – {format_date(invoice.period_end)}."


SOURCES: tuple[Source, ...] = (from_the_row, from_trial, from_audit, from_billing)


def timeline(sub: Subscription, sources: tuple[Source, ...] = SOURCES) -> list[Entry]:
    """Every entry of every source, newest first (what just happened is what a reader comes for;
    dates still ahead, such as a trial's end, come first as scheduled)."""
    entries = [entry for source in sources for entry in source(sub)]
    # Equal instants (a trial's end and the invoice it issues; an invoice issued and paid in one checkout)
    # keep the order things happen in; then the order of each source.
    ranked = sorted(enumerate(entries), key=lambda p: (p[1].at, _ORDER.get(p[1].kind, 5), p[0]), reverse=True)
    return [entry for _, entry in ranked]


_ORDER = {
    "created": 0,
    "trial_started": 0,
    "trial_end": 1,
    "invoice_issued": 2,
    "renewal_retried": 3,
    "payment_failed": 4,
    "invoice_paid": 4,
    "ended": 9,
    "expired": 9,
}


@dataclass(frozen=True)
class SubscriptionPage:
    """What the subscription page shows (the customer's and the admin's): the timeline and the next invoice."""

    sub: Subscription
    entries: list[Entry]
    upcoming: Upcoming


def subscription_page(sub: Subscription) -> SubscriptionPage:
    """`sub` with its plan and product loaded (both pages load them with it)."""
    return SubscriptionPage(sub, timeline(sub), upcoming_invoice(sub, payment_methods.default_for(sub.user_id)))
