"""Reconciliation: payments left pending for more than 15 minutes are settled with the gateway's answer.

A payment stays pending when its answer never reached us or could not be recorded
(a timeout, a crash, the database dropping right after the charge). The gateway
knows each attempt by our idempotency key. A checkout charged at the gateway is
completed here from its recorded order, through the same settlement as every other
path, so it is fulfilled (or refunded) exactly once. Webhook events that arrived
before their transaction existed are applied here as well.

Then the gateway's recent payments are compared with our books, and what disagrees
is kept as the admin's report (`payment_mismatch`, shown at /admin/reconciliation and
printed by `flask billing reconcile`): a payment that succeeded there with our key
that we don't have or have as failed (or the reverse), an amount or currency that
differs, refunds there that don't add up to ours. A payment whose amount differs
is reported and left pending, never settled on a guess.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app import outbox
from app.billing import locks, orders, webhooks
from app.billing.gateway import GatewayPayment, GatewayUnavailable, PaymentGateway, get_gateway
from app.billing.settlement import apply_outcome
from app.billing.sql import insert
from app.extensions import db
from app.models.billing import Transaction
from app.models.reconciliation import PaymentMismatch
from app.money import format_money

AFTER = timedelta(minutes=15)
UNAVAILABLE = "reconciliation: gateway unavailable"
MISMATCHES = "mismatches with the gateway (admin: Reconciliation)"
AMOUNT_DIFFERS = "payments left pending: the gateway's amount differs"
PROVIDERS = {"stripe": "Stripe", "sandbox": "the sandbox"}
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
    try:
        found = mismatches(gateway.recent_payments(), gateway.name, now)
    except GatewayUnavailable:
        report[UNAVAILABLE] += 1
        return
    report[MISMATCHES] += store(found, gateway.name, now)


def settle(tx: Transaction, gateway: PaymentGateway, now: datetime) -> str:
    try:
        result = gateway.retrieve(tx.idempotency_key)
    except GatewayUnavailable:
        return UNAVAILABLE
    if result is None:
        return _never_reached(tx, now)
    if result.status == "pending":
        return "pending payments still pending"
    if result.amount and (result.amount, result.currency.upper()) != (tx.amount, tx.currency.upper()):
        return AMOUNT_DIFFERS  # the report names it (mismatches): an admin decides
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


@dataclass(frozen=True)
class Mismatch:
    payment: GatewayPayment
    problem: str
    detail: str
    transaction_id: uuid.UUID | None = None


def mismatches(payments: Sequence[GatewayPayment], gateway: str, now: datetime) -> list[Mismatch]:
    """The gateway's payments carrying our key that our books disagree with (two queries for them all)."""
    ours = [p for p in payments if p.idempotency_key]
    keys = [p.idempotency_key for p in ours]
    txs = {
        tx.idempotency_key: tx
        for tx in db.session.scalars(sa.select(Transaction).where(Transaction.idempotency_key.in_(keys)))
    }
    refunds: dict[uuid.UUID, tuple[int, int]] = {}
    if txs:
        for parent_id, succeeded, in_flight in db.session.execute(
            sa.select(
                Transaction.parent_id,
                sa.func.sum(sa.case((Transaction.status == "succeeded", Transaction.amount), else_=0)),
                sa.func.count().filter(Transaction.status == "pending"),
            )
            .where(Transaction.kind == "refund", Transaction.parent_id.in_([t.id for t in txs.values()]))
            .group_by(Transaction.parent_id)
        ):
            refunds[parent_id] = (int(succeeded or 0), int(in_flight or 0))
    where = PROVIDERS.get(gateway, gateway)
    found = []
    for p in ours:
        money = format_money(p.amount, p.currency)
        tx = txs.get(p.idempotency_key or "")
        if tx is None:
            if p.status == "succeeded":
                found.append(Mismatch(p, "not_here", f"{money} succeeded at {where}; we have no payment with its key."))
            continue
        if tx.kind != "charge":
            continue
        here = format_money(tx.amount, tx.currency)
        if (p.amount, p.currency.upper()) != (tx.amount, tx.currency.upper()):
            found.append(Mismatch(p, "amount", f"{where} has {money}; we have {here}.", tx.id))
        elif tx.status == "pending":
            continue  # still being settled (reconciliation takes it once it is due)
        elif p.status == "succeeded" and tx.status == "failed":
            found.append(Mismatch(p, "failed_here", f"{money} succeeded at {where}; we have it as failed.", tx.id))
        elif p.status == "failed" and tx.status in ("succeeded", "refunded"):
            found.append(Mismatch(p, "paid_here", f"{money} failed at {where}; we have it as paid.", tx.id))
        refunded, in_flight = refunds.get(tx.id, (0, 0))
        if p.status == "succeeded" and not in_flight and p.refunded != refunded:
            there, ours_back = format_money(p.refunded, p.currency), format_money(refunded, tx.currency)
            found.append(
                Mismatch(p, "refunded", f"{where} refunded {there} of {money}; we refunded {ours_back}.", tx.id)
            )
    return found


def store(found: list[Mismatch], gateway: str, now: datetime) -> int:
    """Make the stored report this run's findings (first seen kept); returns how many there are. Commits."""
    for m in found:
        values = {
            "gateway": gateway,
            "reference": m.payment.reference,
            "problem": m.problem,
            "idempotency_key": m.payment.idempotency_key,
            "transaction_id": m.transaction_id,
            "amount": m.payment.amount,
            "currency": m.payment.currency.upper()[:3],
            "detail": m.detail[:300],
            "first_seen_at": now,
            "last_seen_at": now,
        }
        db.session.execute(
            insert(PaymentMismatch)
            .values(**values)
            .on_conflict_do_update(
                index_elements=["gateway", "reference", "problem"],
                set_={k: values[k] for k in ("detail", "amount", "currency", "transaction_id", "last_seen_at")},
            )
        )
    db.session.execute(
        sa.delete(PaymentMismatch).where(PaymentMismatch.gateway == gateway, PaymentMismatch.last_seen_at < now)
    )
    db.session.commit()
    return len(found)


def current_mismatches() -> list[PaymentMismatch]:
    """The latest report, newest first (the admin page and the CLI)."""
    return list(
        db.session.scalars(
            sa.select(PaymentMismatch).order_by(PaymentMismatch.first_seen_at.desc(), PaymentMismatch.id)
        )
    )
