"""Paying an open invoice while the customer is present (after a renewal was declined).

The customer gives a card (the sandbox's fields, or with Stripe a SetupIntent their browser
confirmed), which also becomes their card for renewals. The attempt (a pending transaction,
purpose "invoice", linked to the invoice) is committed before the gateway is called, under an
idempotency key from the page, so a double submit charges once. The answer is applied through
settlement, as a webhook or reconciliation would apply it, so the invoice is paid and the
subscription active again exactly once, whichever learns of it first. When the bank wants the
customer to confirm (3-D Secure), the browser does it with the PaymentIntent's client secret and
sends the same form again (the same key), and the outcome is read from the gateway.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from app import audit
from app.billing import invoices as invoice_service
from app.billing.gateway import GatewayResult, GatewayUnavailable, get_gateway
from app.billing.gateway.cards import CardEntry
from app.billing.services import payment_methods
from app.billing.services.checkout import valid_key
from app.billing.settlement import apply_outcome, lock_subscription, lock_transaction
from app.errors import Conflict, NotFound, PaymentDeclined, ValidationError
from app.extensions import db
from app.models.billing import Invoice, Transaction
from app.models.user import User

PURPOSE = "invoice"
OUT_OF_DATE = "This page is out of date. Reload it and try again."
NOT_OPEN = "This invoice isn't open for payment any more."
IN_FLIGHT = "A payment for this invoice is already under way. Check again in a moment."
UNCONFIRMED = "We haven't heard back from the payment service yet. Check this invoice again in a moment."


@dataclass(frozen=True)
class PayRequest:
    invoice_id: uuid.UUID | str
    idempotency_key: str
    card: CardEntry
    setup_intent_id: str = ""


@dataclass(frozen=True)
class PayResult:
    """status: paid, requires_action (the browser confirms with client_secret, then sends the form again with
    page_key: the attempt's own, which may be an earlier page's) or pending (no answer yet)."""

    status: str
    invoice: Invoice
    client_secret: str | None = None
    message: str = ""
    page_key: str = ""


def payable(user_id: uuid.UUID, invoice_id: uuid.UUID | str) -> Invoice:
    """The user's invoice, if it can be paid here (an open subscription invoice). Another user's is NotFound;
    one that isn't open is a Conflict."""
    invoice = invoice_service.get_for_user(user_id, invoice_id)
    if not is_payable(invoice):
        raise Conflict(NOT_OPEN)
    return invoice


def is_payable(invoice: Invoice) -> bool:
    return invoice.status == "open" and invoice.kind == "invoice" and invoice.subscription_id is not None


def transaction_key(invoice_id: uuid.UUID, page_key: str) -> str:
    return f"{PURPOSE}:{invoice_id}:{page_key}"


def pay(user: User, request: PayRequest) -> PayResult:
    """Charge the card given for the invoice. When the customer's own earlier attempt is still waiting for
    their bank, that one is offered again instead (nothing new is charged). Raises ValidationError (card
    fields, key), NotFound, Conflict (not open, a renewal being charged), PaymentDeclined (after recording
    the failed attempt), ExternalServiceError (the card could not be checked: nothing was recorded)."""
    if not valid_key(request.idempotency_key):
        raise ValidationError({"idempotency_key": OUT_OF_DATE})
    invoice = invoice_service.get_for_user(user.id, request.invoice_id)
    key = transaction_key(invoice.id, request.idempotency_key)
    if _owned(user, key) is not None:  # the same form again: a double submit, or back from the bank
        return _ask_gateway(user, invoice, key)
    payable(user.id, invoice.id)
    gateway = get_gateway()
    saved, holder = payment_methods.card_given(user, gateway, request.card, request.setup_intent_id)

    # The rows in the order the lifecycle locks them: the subscription, then its invoice.
    sub = lock_subscription(invoice.subscription_id) if invoice.subscription_id else None
    locked = invoice_service.lock_invoices(Invoice.id == invoice.id)
    if sub is None or not locked or not is_payable(locked[0]):
        db.session.rollback()
        raise Conflict(NOT_OPEN)
    invoice = locked[0]
    under_way = _pending_for(sub.id)
    if under_way is not None:
        db.session.rollback()
        return _resume(user, invoice.id, under_way)
    method = payment_methods.save(user, saved, holder_name=holder, gateway=gateway.name)
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=user.id,
        subscription_id=sub.id,
        kind="charge",
        purpose=PURPOSE,
        status="pending",
        amount=invoice.amount_due,  # what the credit balance (spent at renewal) left to pay
        currency=invoice.currency,
        gateway=gateway.name,
        idempotency_key=key,
        payment_method_id=method.id,
    )
    db.session.add(tx)
    invoice.transaction_id = tx.id
    audit.record(
        "invoice.payment_started",
        actor_id=user.id,
        target=invoice,
        after={"card": method.label, "amount": invoice.amount_due, "currency": invoice.currency},
    )
    db.session.commit()  # the attempt exists before any money moves

    invoice_id, number, token = invoice.id, invoice.number, method.token
    try:
        result = gateway.charge(
            amount=tx.amount,
            currency=tx.currency,
            token=token,
            idempotency_key=key,
            description=f"Invoice {number}",
            metadata={"transaction_id": str(tx.id), "user_id": str(user.id), "invoice_ids": str(invoice_id)},
        )
    except GatewayUnavailable:
        return PayResult("pending", invoice_service.get_for_user(user.id, invoice_id), message=UNCONFIRMED)
    return _apply(user, key, result)


def _ask_gateway(user: User, invoice: Invoice, key: str) -> PayResult:
    """An attempt made before: its outcome if settled, else the gateway's answer for it, applied (once,
    whoever applies it first: this, the webhook or reconciliation). Raises PaymentDeclined."""
    settled = _outcome_of(user, key)
    if settled is not None:
        return settled
    try:
        result = get_gateway().retrieve(key)
    except GatewayUnavailable:
        result = None
    if result is None:
        return PayResult("pending", invoice, message=UNCONFIRMED)
    return _apply(user, key, result)


def _apply(user: User, key: str, result: GatewayResult) -> PayResult:
    tx = lock_transaction(Transaction.idempotency_key == key)
    if tx is None:  # the row was there a moment ago: erased with its account
        raise NotFound("We couldn't find that payment.")
    tx.gateway_reference = tx.gateway_reference or result.reference
    if result.status in ("succeeded", "failed"):
        apply_outcome(tx, result.status, failure_code=result.failure_code, message=result.message)
    db.session.commit()
    outcome = _outcome_of(user, key)
    if outcome is not None:
        return outcome
    invoice = _invoice_of(user, tx.id)
    if result.requires_action:
        page_key = key.removeprefix(transaction_key(invoice.id, ""))
        return PayResult("requires_action", invoice, client_secret=result.client_secret, page_key=page_key)
    return PayResult("pending", invoice, message=UNCONFIRMED)


def _owned(user: User, key: str) -> Transaction | None:
    return db.session.scalar(
        sa.select(Transaction).where(Transaction.idempotency_key == key, Transaction.user_id == user.id)
    )


def _outcome_of(user: User, key: str) -> PayResult | None:
    """A settled attempt with this key: paid, or PaymentDeclined with its message. None if none or pending."""
    tx = _owned(user, key)
    if tx is None or tx.status == "pending":
        return None
    if tx.status == "failed":
        raise PaymentDeclined(tx.failure_message or "Your card was declined.")
    return PayResult("paid", _invoice_of(user, tx.id))


def _invoice_of(user: User, tx_id: uuid.UUID) -> Invoice:
    invoice_id = db.session.scalar(sa.select(Invoice.id).where(Invoice.transaction_id == tx_id))
    if invoice_id is None:
        raise NotFound("We couldn't find that invoice.")
    return invoice_service.get_for_user(user.id, invoice_id)


def _pending_for(subscription_id: uuid.UUID) -> Transaction | None:
    return db.session.scalar(
        sa.select(Transaction).where(Transaction.subscription_id == subscription_id, Transaction.status == "pending")
    )


def _resume(user: User, invoice_id: uuid.UUID, tx: Transaction) -> PayResult:
    """A payment already under way for the invoice: the customer's own one still waiting for their bank is
    offered again (the confirm step, with its key); anything else (a renewal being charged) is a Conflict."""
    prefix = transaction_key(invoice_id, "")
    if tx.purpose != PURPOSE or tx.user_id != user.id or not tx.idempotency_key.startswith(prefix):
        raise Conflict(IN_FLIGHT)
    try:
        result = get_gateway().retrieve(tx.idempotency_key)
    except GatewayUnavailable:
        result = None
    if result is None or result.status != "pending" or not result.client_secret:
        raise Conflict(IN_FLIGHT)
    invoice = invoice_service.get_for_user(user.id, invoice_id)
    page_key = tx.idempotency_key.removeprefix(prefix)
    return PayResult("requires_action", invoice, client_secret=result.client_secret, page_key=page_key)
