"""Sending a refund recorded as pending to the gateway: the one path of every refund (an order that could
not be delivered, an admin's refund of an invoice), run by the outbox job and right after an admin's request.

The refund row is committed before this runs, so the money owed back is never
forgotten. A credit note waiting as a draft gets its number once the gateway has
accepted the refund (settlement withdraws it if the gateway refuses). The row stays locked during the call: a retried or
doubled job waits, then finds it sent. A retry first asks the gateway whether the
first attempt got through, so a refund is sent once even by a gateway that
ignores idempotency keys.
"""

from __future__ import annotations

import uuid

from app.billing import invoices as invoice_service
from app.billing.gateway import get_gateway
from app.billing.settlement import apply_outcome, lock_transaction
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Transaction


def send_refund(refund_id: uuid.UUID) -> str:
    """Returns what happened: sent, or nothing to do. GatewayUnavailable propagates (the job retries)."""
    refund = lock_transaction(Transaction.id == refund_id)
    if refund is None or refund.kind != "refund" or refund.status != "pending" or refund.gateway_reference:
        db.session.rollback()
        return "nothing to do"
    parent = db.session.get(Transaction, refund.parent_id) if refund.parent_id else None
    if parent is None or not parent.gateway_reference:  # a refund always names the charge it returns
        db.session.rollback()
        return "nothing to do"
    notes = invoice_service.lock_invoices(Invoice.transaction_id == refund.id)  # an admin's refund has one
    gateway = get_gateway()
    result = gateway.retrieve(refund.idempotency_key) or gateway.refund(
        charge_reference=parent.gateway_reference,
        amount=refund.amount,
        currency=refund.currency,
        idempotency_key=refund.idempotency_key,
        reason=next((note.note for note in notes if note.note), ""),
        metadata={"transaction_id": str(refund.id)},
    )
    refund.gateway_reference = result.reference
    if result.status == "pending":  # accepted, settling later: the money is on its way back
        invoice_service.finalize(notes, now=utcnow())
    else:
        apply_outcome(refund, result.status, failure_code=result.failure_code, message=result.message, now=utcnow())
    db.session.commit()
    return "sent"
