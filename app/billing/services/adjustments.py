"""Admin actions on invoices: mark paid (a bank transfer arrived), void, refund (all or part) with a credit note.

Each locks the invoice row, checks the state, records an audit event and commits.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit, outbox
from app.billing import credit, notices
from app.billing import invoices as invoice_service
from app.billing.gateway import GatewayUnavailable
from app.billing.services import refunds
from app.billing.settlement import apply_outcome, lock_subscription, lock_transaction, renewed
from app.errors import Conflict, ExternalServiceError, NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, InvoiceLine, Transaction
from app.money import format_money, minor_exponent


def _lock_invoice(invoice_id: uuid.UUID | str) -> Invoice:
    try:
        invoice_id = uuid.UUID(str(invoice_id))
    except ValueError:
        raise NotFound("No such invoice.") from None
    invoice = db.session.scalar(
        sa.select(Invoice)
        .options(selectinload(Invoice.lines))
        .where(Invoice.id == invoice_id)
        .with_for_update(of=Invoice)
    )
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


def mark_invoice_paid(invoice_id: uuid.UUID | str, actor_id: uuid.UUID | None) -> Invoice:
    """Record a payment received outside the gateway (a bank transfer)."""
    invoice = _lock_invoice(invoice_id)
    if invoice.kind != "invoice" or invoice.status not in ("open", "uncollectible"):
        raise Conflict(
            f"{invoice.number or 'This draft'} is {invoice.status}; only an open invoice can be marked paid."
        )
    now = utcnow()
    tx = Transaction(
        user_id=invoice.user_id,
        subscription_id=invoice.subscription_id,
        kind="charge",
        purpose="bank_transfer",
        status="succeeded",
        amount=invoice.amount_due,  # the credit balance paid the rest
        currency=invoice.currency,
        gateway="bank_transfer",
        idempotency_key=f"manual:{invoice.id}",
        settled_at=now,
    )
    db.session.add(tx)
    db.session.flush()
    before = invoice.status
    invoice_service.mark_paid(invoice, now=now, transaction_id=tx.id)
    notices.receipt(invoice, paid_on=now)
    if invoice.subscription_id:
        sub = lock_subscription(invoice.subscription_id)
        if (
            sub is not None
            and sub.current_period_start is not None
            and invoice.period_start is not None
            and invoice.period_start >= sub.current_period_start
        ):
            renewed(sub, invoice, now)
    audit.record(
        "invoice.mark_paid",
        actor_id=actor_id,
        target=invoice,
        before={"status": before},
        after={"status": "paid", "transaction": str(tx.id)},
    )
    db.session.commit()
    return invoice


def void_invoice(invoice_id: uuid.UUID | str, actor_id: uuid.UUID | None) -> Invoice:
    """Cancel an unpaid invoice. It keeps its number (numbers are never reused)."""
    invoice = _lock_invoice(invoice_id)
    if invoice.status not in ("open", "uncollectible"):
        raise Conflict(f"{invoice.number or 'This draft'} is {invoice.status}; only an unpaid invoice can be voided.")
    before = invoice.status
    invoice.status, invoice.voided_at = "void", utcnow()
    audit.record("invoice.void", actor_id=actor_id, target=invoice, before={"status": before}, after={"status": "void"})
    db.session.commit()
    return invoice


# A full credit note mirrors what it credits: same customer, period, amounts and lines.
COPIED = (
    "user_id",
    "subscription_id",
    "payment_method",
    "payment_label",
    "currency",
    "subtotal",
    "discount",
    "fee",
    "fee_percent",
    "total",
    "period_start",
    "period_end",
    "bill_to",
)
LINE_COPIED = ("position", "kind", "description", "plan_id", "quantity", "unit_amount", "amount")
AMOUNT_HINT = "Enter an amount such as 5.00"
PROVIDERS = {"stripe": "Stripe"}
# Where a refund goes: back to the card (or by hand, for a bank transfer), or to the customer's credit balance.
REFUND_DESTINATIONS = ("card", "balance")


def _credit_note(invoice: Invoice, reason: str, amount: int) -> Invoice:
    """A draft credit note for `amount` of the invoice: its lines when it credits the whole invoice, else one
    line for the part. It gets its number when the money is on its way back (settlement)."""
    note = Invoice(
        id=uuid.uuid4(),
        kind="credit_note",
        status="draft",
        original_invoice_id=invoice.id,
        note=reason,
        lines=[InvoiceLine(**{c: getattr(line, c) for c in LINE_COPIED}) for line in invoice.lines],
        **{c: getattr(invoice, c) for c in COPIED},
    )
    if amount != invoice.total:
        plan_id = next((line.plan_id for line in invoice.lines if line.plan_id), None)
        description = f"Partial refund of {invoice.number}"
        note.lines = [
            InvoiceLine(
                position=0, kind="plan", description=description, plan_id=plan_id, unit_amount=amount, amount=amount
            )
        ]
        note.subtotal, note.discount, note.fee, note.total = amount, 0, 0, amount
    db.session.add(note)
    return note


def credited(invoice_id: uuid.UUID) -> int:
    """What the invoice's credit notes give back, refunded or on the way (a withdrawn one gives nothing)."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.total), 0)).where(
            Invoice.original_invoice_id == invoice_id, Invoice.kind == "credit_note", Invoice.status != "void"
        )
    )
    return int(total or 0)


def _refund_amount(raw: str, currency: str, left: int) -> int:
    """The amount typed in the currency's major unit ("5.00") as minor units; blank is all that is left."""
    text = str(raw or "").strip()
    if not text:
        return left
    exponent = minor_exponent(currency)
    if not re.fullmatch(r"\d{1,13}(\.\d{1,20})?", text):
        raise ValidationError({"amount": f"{AMOUNT_HINT}, at most {format_money(left, currency)}."})
    minor = Decimal(text).scaleb(exponent)
    if minor != minor.to_integral_value():
        places = "no decimals" if exponent == 0 else f"at most {exponent} decimal places"
        raise ValidationError({"amount": f"{currency} amounts have {places}."})
    if minor <= 0:
        raise ValidationError({"amount": "Enter an amount above zero."})
    if minor > left:
        raise ValidationError({"amount": f"At most {format_money(left, currency)} is left to refund."})
    return int(minor)


def refund_invoice(
    invoice_id: uuid.UUID | str,
    actor_id: uuid.UUID | None,
    reason: str,
    amount: str = "",
    key: str = "",
    destination: str = "card",
) -> Invoice:
    """Refund all or part of a paid invoice (several parts until nothing is left): a credit note for the
    amount and a refund at the gateway, or (`destination` "balance") to the customer's credit balance, with
    no gateway call. Returns the credit note.

    The refund and its draft credit note are committed, pending, before the gateway is called, then sent by
    the one path every refund takes (`refunds.send_refund`, also queued as the job that retries it). The
    note is numbered once the gateway accepts the refund. If the gateway refuses it, the refund is recorded
    failed, its draft note is withdrawn (never numbered, so the series stays gapless) and Conflict carries
    the gateway's message: nothing was refunded. If the gateway doesn't answer, the refund stays pending
    (counted against what is left, so it can't be asked twice) and the job sends it later, asking the
    gateway first whether it got through: ExternalServiceError says so. `key` names the form that asked,
    so a double submit finds the first refund instead of making a second."""
    refund_id = _record_refund(invoice_id, actor_id, reason, amount, key, destination)
    provider = PROVIDERS.get(db.session.scalar(sa.select(Transaction.gateway).where(Transaction.id == refund_id)) or "")
    try:
        refunds.send_refund(refund_id)
    except GatewayUnavailable:
        db.session.rollback()
        raise ExternalServiceError(
            f"{provider or 'The payment service'} didn't answer. Nothing is refunded yet: the refund is kept as "
            "pending and sent again automatically (it won't be sent twice)."
        ) from None
    refund = db.session.get(Transaction, refund_id, populate_existing=True)
    note = db.session.scalar(
        sa.select(Invoice).where(Invoice.transaction_id == refund_id).execution_options(populate_existing=True)
    )
    if refund is not None and note is not None and refund.status != "failed":
        db.session.rollback()
        return note
    message = (refund.failure_message if refund else None) or "The refund was refused."
    who = provider or "The payment service"
    if refund is not None:
        invoice = db.session.get(Invoice, uuid.UUID(str(invoice_id)))
        audit.record(
            "invoice.refund_refused",
            actor_id=actor_id,
            target=invoice,
            after={
                "refund": str(refund.id),
                "refunded": format_money(refund.amount, refund.currency),
                "by": who,
                "message": message,
            },
        )
        db.session.commit()
    raise Conflict(f"{who} refused the refund: {message} Nothing was refunded.", field="amount")


def _record_refund(
    invoice_id: uuid.UUID | str, actor_id: uuid.UUID | None, reason: str, amount: str, key: str, destination: str
) -> uuid.UUID:
    """Check the request and commit the pending refund, its draft credit note and the audit event; returns
    the refund's id (the first one's, when `key` was already used). A refund to the balance is settled here:
    its credit note numbered and paid, the balance credited, in this one transaction."""
    reason = " ".join(str(reason or "").split())
    errors = {}
    if not reason or len(reason) > 500:
        errors["reason"] = "Say why (up to 500 characters)."
    if destination not in REFUND_DESTINATIONS:
        errors["destination"] = "Choose where the money goes: the card or the credit balance."
    if errors:
        raise ValidationError(errors)
    to_balance = destination == "balance"
    invoice = _lock_invoice(invoice_id)
    idempotency_key = f"refund:{invoice.id}:{_form_key(key)}"
    first = db.session.scalar(sa.select(Transaction.id).where(Transaction.idempotency_key == idempotency_key))
    if first is not None:  # the same form submitted again
        db.session.rollback()
        return first
    if invoice.kind != "invoice" or invoice.status != "paid":
        raise Conflict(f"{invoice.number} is {invoice.status}; only a paid invoice can be refunded.")
    charge = lock_transaction(Transaction.id == invoice.transaction_id) if invoice.transaction_id else None
    if not to_balance and (charge is None or (charge.gateway != "bank_transfer" and not charge.gateway_reference)):
        hint = " by card: refund it to the credit balance" if invoice.credit_applied else ""
        raise Conflict(f"{invoice.number} has no payment to refund{hint}.", field="destination")
    left = invoice.total - credited(invoice.id)
    if left <= 0:
        raise Conflict(f"{invoice.number} has already been refunded in full.")
    if not to_balance:  # the card gets back at most what it paid (the balance paid the rest)
        left = min(left, invoice.amount_due - _refunded_to_card(invoice.id))
        if left <= 0:
            raise Conflict(f"{invoice.number}: what the card paid is refunded; the rest can go to the credit balance.")
    value = _refund_amount(amount, invoice.currency, left)
    now = utcnow()
    note = _credit_note(invoice, reason, value)
    refund = Transaction(
        id=uuid.uuid4(),
        user_id=invoice.user_id,
        subscription_id=invoice.subscription_id,
        kind="refund",
        purpose="refund",
        status="pending",
        amount=value,
        currency=invoice.currency,
        # To the balance: a record of the money moved, no gateway's, and not counted against the card charge.
        gateway="balance" if to_balance or charge is None else charge.gateway,
        parent_id=None if to_balance or charge is None else charge.id,
        idempotency_key=idempotency_key,
    )
    db.session.add(refund)
    note.transaction_id = refund.id
    db.session.flush()
    if to_balance or charge is None:
        apply_outcome(refund, "succeeded", now=now)  # the credit note is numbered and paid: nothing to wait for
        credit.add_credit(
            invoice.user_id,
            invoice.currency,
            value,
            "refund",
            reason=f"Refund of {invoice.number} ({note.number})",
            actor_id=actor_id,
            credit_note_id=note.id,
        )
    elif charge.gateway == "bank_transfer":  # paid by bank transfer: the money goes back the same way, by hand
        apply_outcome(refund, "succeeded", now=now)
    else:  # sent right after the commit; the job is there if this process dies first or the gateway is silent
        outbox.enqueue("jobs.billing.send_refund", str(refund.id), queue="high")
    audit.record(
        "invoice.refund",
        actor_id=actor_id,
        target=invoice,
        after={
            "refund": str(refund.id),
            "refunded": format_money(value, invoice.currency),
            "reason": reason,
            "destination": destination,
        },
    )
    db.session.commit()
    return refund.id


def _refunded_to_card(invoice_id: uuid.UUID) -> int:
    """What the invoice's credit notes gave back (or are giving back) other than to the credit balance."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.total), 0))
        .join(Transaction, Transaction.id == Invoice.transaction_id)
        .where(
            Invoice.original_invoice_id == invoice_id,
            Invoice.kind == "credit_note",
            Invoice.status != "void",
            Transaction.gateway != "balance",
        )
    )
    return int(total or 0)


def _form_key(key: str) -> str:
    try:
        return str(uuid.UUID(str(key or "")))
    except ValueError:
        return str(uuid.uuid4())  # no key (the CLI, a test): a refund of its own
