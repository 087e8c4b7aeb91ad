"""Reconciliation: payments left pending for more than 15 minutes are settled with the gateway's answer.

A payment stays pending when its answer never reached us or could not be recorded
(a timeout, a crash, the database dropping right after the charge). The gateway
knows each attempt by our idempotency key. A checkout charged at the gateway is
completed here from its recorded order, through the same settlement as every other
path, so it is fulfilled (or refunded) exactly once. Webhook events that arrived
before their transaction existed are applied here as well.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from app import outbox
from app.billing import locks, orders, webhooks
from app.billing.gateway import GatewayUnavailable, PaymentGateway, get_gateway
from app.billing.settlement import apply_outcome
from app.extensions import db
from app.models.billing import Transaction

AFTER = timedelta(minutes=15)
UNAVAILABLE = "reconciliation: gateway unavailable"
CHECKOUT_LABELS = {
    "succeeded": "checkouts completed",
    "refunded": "checkouts refunded (order no longer possible)",
    "declined": "checkouts declined",
}


def _due(now: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        Transaction.status == "pending",
        Transaction.created_at <= now - AFTER,
        Transaction.gateway != "bank_transfer",
    ]


def count_due(now: datetime) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Transaction).where(*_due(now))) or 0


def run(now: datetime, report: Counter[str], size: int = 200) -> None:
    gateway = get_gateway()
    last_id = None
    while True:
        query = (
            sa.select(Transaction)
            .where(*_due(now))
            .order_by(Transaction.id)
            .limit(size)
            .with_for_update(skip_locked=True)
        )
        if last_id is not None:
            query = query.where(Transaction.id > last_id)
        rows = list(db.session.scalars(query))
        if not rows:
            break
        for tx in rows:
            report[settle(tx, gateway, now)] += 1
        last_id = rows[-1].id
        db.session.commit()
    report["webhook events applied late"] += webhooks.apply_waiting(now, size)


def settle(tx: Transaction, gateway: PaymentGateway, now: datetime) -> str:
    try:
        result = gateway.retrieve(tx.idempotency_key)
    except GatewayUnavailable:
        return UNAVAILABLE
    if result is None:
        return _never_reached(tx, now)
    if result.status == "pending":
        return "pending payments still pending"
    tx.gateway_reference = tx.gateway_reference or result.reference
    apply_outcome(tx, result.status, failure_code=result.failure_code, message=result.message, now=now)
    return _label(tx, result.status)


def _never_reached(tx: Transaction, now: datetime) -> str:
    if tx.kind == "refund":
        # Money we owe: never given up on. The job asks the gateway first, so it is sent once.
        outbox.enqueue("jobs.billing.send_refund", str(tx.id), queue="high")
        return "refunds sent again"
    if tx.purpose in ("checkout", "plan_change") and locks.in_flight(tx.user_id):
        return "pending payments still in flight"  # a submit (or a retried one) is charging it right now
    apply_outcome(
        tx, "failed", failure_code="not_received", now=now, message="The payment never reached the payment service."
    )
    return _label(tx, "failed")


def _label(tx: Transaction, status: str) -> str:
    if tx.purpose == "checkout":
        attempt = orders.lock_attempt_of(tx)
        if attempt is not None and attempt.status in CHECKOUT_LABELS:
            return CHECKOUT_LABELS[attempt.status]
    return f"pending payments settled ({status})"
