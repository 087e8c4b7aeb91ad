"""Sending a refund recorded as pending (an order that could not be delivered) to the gateway.

The refund row is committed before this runs (by the outbox job), so the money
owed back is never forgotten. The row stays locked during the call: a retried or
doubled job waits, then finds it sent. A retry first asks the gateway whether the
first attempt got through, so a refund is sent once even by a gateway that
ignores idempotency keys.
"""

from __future__ import annotations

import uuid

from app.billing.gateway import get_gateway
from app.billing.settlement import apply_outcome, lock_transaction
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Transaction


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
    gateway = get_gateway()
    result = gateway.retrieve(refund.idempotency_key) or gateway.refund(
        charge_reference=parent.gateway_reference,
        amount=refund.amount,
        currency=refund.currency,
        idempotency_key=refund.idempotency_key,
    )
    refund.gateway_reference = result.reference
    if result.status != "pending":
        apply_outcome(refund, result.status, failure_code=result.failure_code, message=result.message, now=utcnow())
    db.session.commit()
    return "sent"
