"""Admin actions on invoices: mark paid (a bank transfer arrived), void, refund with a credit note.

Each locks the invoice row, checks the state, records an audit event and commits.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.billing import invoices as invoice_service
from app.billing import notices
from app.billing.gateway import GatewayUnavailable, get_gateway
from app.billing.settlement import apply_outcome, lock_subscription, lock_transaction, renewed
from app.errors import Conflict, ExternalServiceError, NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, InvoiceLine, Transaction


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
        amount=invoice.total,
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


# A credit note mirrors what it credits: same customer, period, amounts and lines.
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


def _credit_note(invoice: Invoice, reason: str) -> Invoice:
    note = Invoice(
        id=uuid.uuid4(),
        kind="credit_note",
        status="draft",
        original_invoice_id=invoice.id,
        note=reason,
        lines=[InvoiceLine(**{c: getattr(line, c) for c in LINE_COPIED}) for line in invoice.lines],
        **{c: getattr(invoice, c) for c in COPIED},
    )
    db.session.add(note)
    return note


def refund_invoice(invoice_id: uuid.UUID | str, actor_id: uuid.UUID | None, reason: str) -> Invoice:
    """Refund a paid invoice in full: a credit note (own gapless CN number) and a refund at the gateway."""
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > 500:
        raise ValidationError({"reason": "Say why (up to 500 characters)."})
    invoice = _lock_invoice(invoice_id)
    if invoice.kind != "invoice" or invoice.status != "paid":
        raise Conflict(f"{invoice.number} is {invoice.status}; only a paid invoice can be refunded.")
    if db.session.scalar(sa.select(Invoice.id).where(Invoice.original_invoice_id == invoice.id)):
        raise Conflict(f"{invoice.number} has already been refunded.")
    charge = lock_transaction(Transaction.id == invoice.transaction_id) if invoice.transaction_id else None
    if charge is None:
        raise Conflict(f"{invoice.number} has no payment to refund.")
    now = utcnow()
    note = _credit_note(invoice, reason)
    invoice_service.finalize([note], now=now)
    manual = charge.gateway == "bank_transfer"
    refund = Transaction(
        id=uuid.uuid4(),
        user_id=invoice.user_id,
        subscription_id=invoice.subscription_id,
        kind="refund",
        purpose="refund",
        status="pending",
        amount=invoice.total,
        currency=invoice.currency,
        gateway=charge.gateway,
        parent_id=charge.id,
        idempotency_key=f"refund:{invoice.id}",
    )
    db.session.add(refund)
    note.transaction_id = refund.id
    db.session.flush()
    if manual:  # paid by bank transfer: the money goes back the same way, outside the gateway
        apply_outcome(refund, "succeeded", now=now)
    else:
        try:
            result = get_gateway().refund(
                charge_reference=charge.gateway_reference or "",
                amount=invoice.total,
                currency=invoice.currency,
                idempotency_key=refund.idempotency_key,
            )
        except GatewayUnavailable:
            db.session.rollback()
            raise ExternalServiceError("The payment service didn't answer. Nothing was refunded; try again.") from None
        refund.gateway_reference = result.reference
        if result.status != "pending":
            apply_outcome(refund, result.status, failure_code=result.failure_code, message=result.message, now=now)
    audit.record(
        "invoice.refund",
        actor_id=actor_id,
        target=invoice,
        after={"credit_note": note.number, "refund": str(refund.id), "reason": reason},
    )
    db.session.commit()
    return note
