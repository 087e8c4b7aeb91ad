"""Checkout: an idempotent submit that charges once and invoices once per subscription.

The submit claims its idempotency key with INSERT … ON CONFLICT DO NOTHING and
keeps that row uncommitted until the whole checkout commits. A concurrent submit
with the same key waits on that insert, then finds the stored result and replays
it; the same key with another cart is refused. The gateway call carries a key
derived from ours, so even a crash between the charge and our commit cannot
charge twice: the retry gets the gateway's first answer.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app import audit
from app.billing import cart as cart_service
from app.billing import invoices as invoice_service
from app.billing import notices, payment_methods
from app.billing.answers import collect_answers
from app.billing.gateway import GatewayUnavailable, get_gateway
from app.billing.gateway.cards import read_card
from app.billing.periods import add_cycle
from app.billing.settlement import apply_outcome
from app.billing.sql import insert
from app.billing.states import transition
from app.links import path_for
from app.errors import ExternalServiceError, NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import LIVE_STATUSES, Invoice, Subscription, Transaction
from app.models.checkout import CheckoutAttempt
from app.models.user import User

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,80}$")
METHODS = ("card", "bank_transfer")


@dataclass
class Outcome:
    """What the page shows: a redirect (done), or the review again with a message and/or field errors."""

    status: int
    redirect: str | None = None
    message: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    answer_errors: dict[str, dict[str, str]] = field(default_factory=dict)
    new_key: bool = False  # the review must carry a fresh key (this one is spent)


def read_key(raw) -> str:
    key = str(raw or "").strip()
    if not KEY_RE.match(key):
        raise ValidationError("This checkout form is out of date. Review your order and pay again.")
    return key


def _replay(attempt: CheckoutAttempt, user: User, fingerprint: str) -> Outcome:
    if attempt.user_id != user.id or attempt.fingerprint != fingerprint:
        return Outcome(409, message="This payment was already submitted for a different cart. "
                                    "Review your order again and pay from the new page.", new_key=True)
    if attempt.status == "succeeded":
        return Outcome(303, redirect=attempt.result["redirect"])
    if attempt.status == "declined":
        return Outcome(402, message=attempt.result.get("message"), errors={"card_number": attempt.result["message"]},
                       new_key=True)
    return Outcome(409, message="This payment is still being processed. Refresh in a moment.")


def _claim(key: str, user: User, fingerprint: str, method: str) -> CheckoutAttempt | None:
    """Insert the attempt row; None if another submit holds (or held) the key."""
    attempt_id = uuid.uuid4()
    inserted = db.session.execute(
        insert(CheckoutAttempt).values(id=attempt_id, key=key, user_id=user.id, fingerprint=fingerprint,
                                       payment_method=method, status="processing", result={}, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"]).returning(CheckoutAttempt.id)
    ).scalar_one_or_none()
    return db.session.get(CheckoutAttempt, attempt_id) if inserted else None


def submit(user: User, form) -> Outcome:
    key = read_key(form.get("idempotency_key"))
    method = str(form.get("payment_method") or "card")
    if method not in METHODS:
        raise ValidationError("Choose card or bank transfer.", field="payment_method")
    posted = str(form.get("review_fingerprint") or "")
    existing = db.session.scalar(sa.select(CheckoutAttempt).where(CheckoutAttempt.key == key))
    if existing is not None:
        return _replay(existing, user, posted)
    view = cart_service.view(user, acknowledge=False)
    quote = view.quote
    if not quote.lines or quote.problems:
        return Outcome(409, message=" ".join(quote.problems) or "Your cart is empty.")
    if quote.fingerprint() != posted:
        return Outcome(409, message="Your cart or its prices changed since you reviewed it. "
                                    "Check the new total below and pay again.", new_key=True)
    card, errors = read_card(form) if method == "card" else (None, {})
    answers, answer_errors = collect_answers(view, form)
    if errors or answer_errors:
        return Outcome(400, message="Please correct the highlighted fields.", errors=errors,
                       answer_errors=answer_errors)
    attempt = _claim(key, user, quote.fingerprint(), method)
    if attempt is None:
        db.session.rollback()  # the other submit committed: read its result
        return _replay(db.session.scalar(sa.select(CheckoutAttempt).where(CheckoutAttempt.key == key)), user, posted)
    # Checkouts of one user run one at a time: "already subscribed" stays true until we commit.
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update(key_share=True))
    live = _live_subscriptions(user.id, [line.product_id for line in quote.lines])
    owned = [line.product_name for line in quote.lines if live.get(line.product_id) and
             live[line.product_id].status != "trial"]
    if owned:
        db.session.rollback()
        return Outcome(409, message=f"You already subscribe to {', '.join(owned)}. Remove it from your cart.")
    if method == "bank_transfer":
        return _bank_transfer(user, attempt, view, answers, live)
    return _card(user, attempt, view, answers, live, card)


def _live_subscriptions(user_id: uuid.UUID, product_ids) -> dict[uuid.UUID, Subscription]:
    rows = db.session.scalars(sa.select(Subscription).where(
        Subscription.user_id == user_id, Subscription.product_id.in_(list(product_ids)),
        Subscription.status.in_(LIVE_STATUSES)).with_for_update())
    return {sub.product_id: sub for sub in rows}


def _card(user, attempt, view, answers, live, card) -> Outcome:
    gateway = get_gateway()
    quote = view.quote
    try:
        saved = gateway.tokenize(card)
    except GatewayUnavailable:
        db.session.rollback()
        raise ExternalServiceError("We couldn't reach the payment service. Try again in a moment.") from None
    tx = Transaction(user_id=user.id, kind="charge", purpose="checkout", status="pending", amount=quote.total,
                     currency=quote.currency, gateway=gateway.name, idempotency_key=f"checkout:{attempt.key}")
    db.session.add(tx)
    db.session.flush()
    attempt.transaction_id = tx.id
    try:
        result = gateway.charge(amount=quote.total, currency=quote.currency, token=saved.token,
                                idempotency_key=tx.idempotency_key, description=f"Checkout {attempt.id}")
    except GatewayUnavailable:
        db.session.rollback()  # nothing of ours is kept; the same key retries the same gateway charge
        raise ExternalServiceError("We couldn't reach the payment service. Paying again is safe: "
                                   "you will never be charged twice for this order.") from None
    tx.gateway_reference = result.reference
    now = utcnow()
    if not result.succeeded:
        apply_outcome(tx, "failed", failure_code=result.failure_code, message=result.message, now=now)
        attempt.status, attempt.completed_at = "declined", now
        attempt.result = {"message": result.message or "Your card was declined.", "code": result.failure_code}
        audit.record("checkout.declined", actor_id=user.id, target=tx, after={"code": result.failure_code})
        db.session.commit()
        return Outcome(402, message=attempt.result["message"], errors={"card_number": attempt.result["message"]},
                       new_key=True)
    method = payment_methods.save(user, saved, holder_name=card.name, gateway=gateway.name)
    tx.payment_method_id = method.id
    invoices = _fulfil(user, attempt, view, answers, live, now, billing_method="card", label=method.label,
                       due_at=now)
    for invoice in invoices:
        invoice.transaction_id = tx.id
    apply_outcome(tx, "succeeded", now=now, invoices=invoices)
    return _done(user, attempt, tx, now)


def _bank_transfer(user, attempt, view, answers, live) -> Outcome:
    now = utcnow()
    due = now + timedelta(days=current_app.config["BANK_TRANSFER_DUE_DAYS"])
    _fulfil(user, attempt, view, answers, live, now, billing_method="bank_transfer", label="Bank transfer",
            due_at=due)
    return _done(user, attempt, None, now)


def _fulfil(user, attempt, view, answers, live, now, *, billing_method, label, due_at):
    """Create or convert one subscription per line, with its invoice (numbered, open)."""
    invoices = []
    for cart_line in view.lines:
        line = cart_line.priced
        sub = live.get(line.product_id)
        end = add_cycle(now, line.cycle)
        if sub is None:
            sub = Subscription(user_id=user.id, plan_id=line.plan_id, product_id=line.product_id, status="active",
                               started_at=now, answers=answers.get(line.product_id, {}))
            db.session.add(sub)
        else:  # a trial converted to a paid plan
            transition(sub, "active", now=now)
            sub.plan_id = line.plan_id
            sub.answers = answers.get(line.product_id) or sub.answers
        sub.quantity, sub.billing_method = line.quantity, billing_method
        sub.current_period_start, sub.current_period_end = now, end
        sub.auto_renew, sub.cancel_at_period_end = True, False
        db.session.flush()
        invoices.append(invoice_service.draft_invoice(user=user, line=line, subscription_id=sub.id,
                                                      method=billing_method, label=label, period=(now, end),
                                                      checkout_id=attempt.id))
        notices.activated(sub, cart_line.product, cart_line.plan)
    invoice_service.finalize(invoices, now=now, due_at=due_at)
    return invoices


def _done(user, attempt, tx, now) -> Outcome:
    redirect = path_for("billing.checkout_complete", attempt_id=attempt.id)
    attempt.status, attempt.completed_at, attempt.result = "succeeded", now, {"redirect": redirect}
    cart_service.clear(user)
    audit.record("checkout.completed", actor_id=user.id, target=attempt,
                 after={"transaction": str(tx.id) if tx else None, "method": attempt.payment_method})
    db.session.commit()
    return Outcome(303, redirect=redirect)


def completed(user: User, attempt_id) -> tuple[CheckoutAttempt, list[Invoice]]:
    try:
        attempt_id = uuid.UUID(str(attempt_id))
    except ValueError:
        raise NotFound("We couldn't find that order.") from None
    attempt = db.session.get(CheckoutAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id or attempt.status != "succeeded":
        raise NotFound("We couldn't find that order.")
    invoices = list(db.session.scalars(sa.select(Invoice).where(Invoice.checkout_id == attempt.id)
                                       .order_by(Invoice.number)))
    return attempt, invoices
