"""Checkout: the order is committed before the gateway is called, and settled after it, exactly once.

A submit claims its idempotency key (INSERT … ON CONFLICT DO NOTHING: a concurrent
submit of the same key waits on that insert) and, holding the customer's checkout
lock (app/billing/locks.py), commits the attempt (amount, currency, a snapshot of
the order) and a pending transaction *before* calling the gateway. The answer is
applied in a new transaction through settlement, which fulfils the order from the
snapshot. If that transaction fails (the database dropped), the attempt stays open
and whichever comes first completes it, once, under the payment's row lock: a
retried submit with the same key, the gateway's webhook, or reconciliation.

Only the submit that committed an attempt charges it. A retry charges again only
when the first call got no answer *and* the gateway then says it never saw the key,
so even a gateway that ignores idempotency keys is never asked twice for one order.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.billing import cart as cart_service
from app.billing import locks, orders
from app.billing.answers import collect_answers
from app.billing.gateway import GatewayResult, GatewayUnavailable, get_gateway
from app.billing.gateway.cards import read_card
from app.billing.settlement import apply_outcome, lock_transaction
from app.billing.sql import insert
from app.errors import FORM, ExternalServiceError, NotFound, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import LIVE_STATUSES, Invoice, Subscription, Transaction
from app.models.checkout import CheckoutAttempt
from app.models.user import User

log = logging.getLogger(__name__)

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,80}$")
METHODS = ("card", "bank_transfer")
CONFIRMING = (
    "We're waiting for the payment service to confirm it, then we finish your order. You won't be "
    "charged twice for this order: check again in a moment, and your receipt will follow by email."
)
NOT_RECORDED = "We couldn't reach our database just now, so this attempt charged nothing. Try again in a moment."
UNREACHED = (
    "We couldn't reach the payment service. Paying again is safe: you will never be charged twice for this order."
)


@dataclass
class Outcome:
    """What the page shows: a redirect (done), the review again with a message and/or field errors, or a page
    that renders without the database (which may be down): the payment is being confirmed, or nothing was recorded."""

    status: int
    redirect: str | None = None
    message: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    answer_errors: dict[str, dict[str, str]] = field(default_factory=dict)
    new_key: bool = False  # the review must carry a fresh key (this one is spent)
    without_database: bool = False


@dataclass(frozen=True)
class Call:
    """One gateway charge of a recorded attempt, with everything it needs (no database between commit and call)."""

    attempt_id: uuid.UUID
    tx_id: uuid.UUID
    amount: int
    currency: str
    token: str
    key: str


def read_key(raw) -> str:
    key = str(raw or "").strip()
    if not KEY_RE.match(key):
        raise ValidationError({FORM: "This checkout form is out of date. Review your order and pay again."})
    return key


def submit(user: User, form) -> Outcome:
    try:
        return _submit(user, form)
    except sa.exc.DBAPIError:
        # Before this request committed an attempt: it called no gateway.
        log.exception("checkout: database error before the attempt was recorded")
        _rollback_quietly()
        return Outcome(503, message=NOT_RECORDED, without_database=True)


def _submit(user: User, form) -> Outcome:
    key = read_key(form.get("idempotency_key"))
    method = str(form.get("payment_method") or "card")
    if method not in METHODS:
        raise ValidationError({"payment_method": "Choose card or bank transfer."})
    posted = str(form.get("review_fingerprint") or "")
    existing = _by_key(key)
    if existing is not None:
        return _replay(existing, user, posted)
    view = cart_service.view(user, acknowledge=False)
    quote = view.quote
    if not quote.lines or quote.problems:
        return Outcome(409, message=" ".join(quote.problems) or "Your cart is empty.")
    if quote.fingerprint() != posted:
        return Outcome(
            409,
            message="Your cart or its prices changed since you reviewed it. Check the new total below and pay again.",
            new_key=True,
        )
    card, errors = read_card(form) if method == "card" else (None, {})
    answers, answer_errors = collect_answers(view, form)
    if errors or answer_errors:
        return Outcome(
            400, message="Please correct the highlighted fields.", errors=errors, answer_errors=answer_errors
        )
    attempt = _claim(key, user, quote, method)
    if attempt is None:
        db.session.rollback()  # the other submit committed: read its result
        return _replay(_by_key(key), user, posted)
    try:
        with locks.checkout_lock(user.id):
            return _place(user, attempt, view, answers, card)
    except locks.CheckoutBusy:
        db.session.rollback()
        return Outcome(409, message="Another payment of yours is still being processed. Try again in a moment.")


def _by_key(key: str) -> CheckoutAttempt | None:
    return db.session.scalar(
        sa.select(CheckoutAttempt).where(CheckoutAttempt.key == key).execution_options(populate_existing=True)
    )


def _claim(key: str, user: User, quote, method: str) -> CheckoutAttempt | None:
    """Insert the attempt row; None if another submit holds (or held) the key."""
    attempt_id = uuid.uuid4()
    inserted = db.session.execute(
        insert(CheckoutAttempt)
        .values(
            id=attempt_id,
            key=key,
            user_id=user.id,
            fingerprint=quote.fingerprint(),
            payment_method=method,
            status="processing",
            amount=quote.total,
            currency=quote.currency,
            snapshot={},
            result={},
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(CheckoutAttempt.id)
    ).scalar_one_or_none()
    return db.session.get(CheckoutAttempt, attempt_id) if inserted else None


def _place(user: User, attempt: CheckoutAttempt, view, answers, card) -> Outcome:
    """Holding the customer's lock: nothing of theirs changes under us until this order is settled."""
    owned = [line.product_name for line in view.quote.lines if line.product_id in _owned_products(user.id)]
    if owned:
        db.session.rollback()
        return Outcome(409, message=f"You already subscribe to {', '.join(owned)}. Remove it from your cart.")
    if attempt.payment_method == "bank_transfer":
        return _bank_transfer(user, attempt, view, answers)
    gateway = get_gateway()
    try:
        saved = gateway.tokenize(card)
    except GatewayUnavailable:
        db.session.rollback()
        raise ExternalServiceError("We couldn't reach the payment service. Try again in a moment.") from None
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=user.id,
        kind="charge",
        purpose="checkout",
        status="pending",
        amount=attempt.amount,
        currency=attempt.currency,
        gateway=gateway.name,
        idempotency_key=f"checkout:{attempt.key}",
    )
    db.session.add(tx)
    db.session.flush()
    attempt.transaction_id, attempt.status = tx.id, "charging"
    attempt.snapshot = orders.snapshot(user, view, answers, card=saved, holder_name=card.name)
    call = Call(attempt.id, tx.id, attempt.amount, attempt.currency, saved.token, tx.idempotency_key)
    db.session.commit()  # recorded before any money moves
    return _charge(call)


def _owned_products(user_id: uuid.UUID) -> set[uuid.UUID]:
    """Products this user pays for now (a trial is converted by buying, so it doesn't count)."""
    return set(
        db.session.scalars(
            sa.select(Subscription.product_id).where(
                Subscription.user_id == user_id, Subscription.status.in_(LIVE_STATUSES), Subscription.status != "trial"
            )
        )
    )


def _charge(call: Call) -> Outcome:
    try:
        result = get_gateway().charge(
            amount=call.amount,
            currency=call.currency,
            token=call.token,
            idempotency_key=call.key,
            description=f"Checkout {call.attempt_id}",
        )
    except GatewayUnavailable:
        _mark_unreached(call)
        raise ExternalServiceError(UNREACHED) from None
    return _settle(call, result)


def _mark_unreached(call: Call) -> None:
    """The call got no answer: a retry may ask the gateway and, if it never saw the key, charge again."""
    try:
        attempt = db.session.get(CheckoutAttempt, call.attempt_id, with_for_update=True, populate_existing=True)
        if attempt.status == "charging":
            attempt.status = "unreached"
        db.session.commit()
    except sa.exc.DBAPIError:  # still "charging": only reconciliation will decide, never a second charge
        log.exception("checkout %s: could not record that the gateway did not answer", call.attempt_id)
        _rollback_quietly()


def _settle(call: Call, result: GatewayResult) -> Outcome:
    """Apply the gateway's answer in a transaction of its own; if it fails, the attempt stays open."""
    try:
        tx = lock_transaction(Transaction.id == call.tx_id)
        tx.gateway_reference = tx.gateway_reference or result.reference
        apply_outcome(tx, result.status, failure_code=result.failure_code, message=result.message, now=utcnow())
        db.session.commit()
        return _outcome(db.session.get(CheckoutAttempt, call.attempt_id, populate_existing=True))
    except sa.exc.DBAPIError:
        log.exception(
            "checkout %s: charged %s but could not settle; it stays open for reconciliation",
            call.attempt_id,
            result.reference,
        )
        _rollback_quietly()
        return _confirming()


def _replay(attempt: CheckoutAttempt, user: User, fingerprint: str) -> Outcome:
    if attempt.user_id != user.id or attempt.fingerprint != fingerprint:
        return Outcome(
            409,
            message="This payment was already submitted for a different cart. "
            "Review your order again and pay from the new page.",
            new_key=True,
        )
    if attempt.status in orders.OPEN:
        return _resume(attempt.id, user.id)
    return _outcome(attempt)


def _outcome(attempt: CheckoutAttempt) -> Outcome:
    if attempt.status == "succeeded":
        return Outcome(303, redirect=attempt.result["redirect"])
    if attempt.status == "declined":
        message = attempt.result.get("message") or "Your card was declined."
        return Outcome(402, message=message, errors={"card_number": message}, new_key=True)
    if attempt.status == "refunded":
        return Outcome(409, message=attempt.result.get("message"), new_key=True)
    if attempt.status in orders.OPEN:
        return _confirming()
    return Outcome(409, message="This payment is still being processed. Refresh in a moment.")


def _confirming() -> Outcome:
    return Outcome(202, message=CONFIRMING, without_database=True)


def _resume(attempt_id: uuid.UUID, user_id: uuid.UUID) -> Outcome:
    """A retried submit of an open attempt: wait for its submit, then finish it from the gateway's answer."""
    db.session.rollback()  # give this request's connection back while it waits for the lock
    try:
        with locks.checkout_lock(user_id):
            attempt = db.session.get(CheckoutAttempt, attempt_id, populate_existing=True)
            if attempt.status not in orders.OPEN:
                return _outcome(attempt)
            return _confirm(attempt)
    except (locks.CheckoutBusy, sa.exc.DBAPIError):
        log.warning("checkout %s: could not confirm the payment now", attempt_id, exc_info=True)
        _rollback_quietly()
        return _confirming()


def _confirm(attempt: CheckoutAttempt) -> Outcome:
    """No request is charging this attempt (we hold the lock): ask the gateway what became of it."""
    tx = lock_transaction(Transaction.id == attempt.transaction_id)
    call = Call(
        attempt.id,
        tx.id,
        tx.amount,
        tx.currency,
        (attempt.snapshot.get("card") or {}).get("token", ""),
        tx.idempotency_key,
    )
    try:
        known = get_gateway().retrieve(tx.idempotency_key)
    except GatewayUnavailable:
        db.session.rollback()
        return _confirming()
    if known is None and attempt.status == "unreached":
        attempt.status = "charging"
        db.session.commit()  # recorded before the second call, as before the first
        return _charge(call)
    if known is None or known.status == "pending":
        db.session.rollback()  # the first call may still land: reconciliation decides after a while
        return _confirming()
    return _settle(call, known)


def _bank_transfer(user: User, attempt: CheckoutAttempt, view, answers) -> Outcome:
    """No money moves now: the order is fulfilled in this one transaction, its invoices open and due later."""
    now = utcnow()
    attempt.snapshot = orders.snapshot(user, view, answers)
    order = orders.load(attempt, user.id)
    due = now + timedelta(days=current_app.config["BANK_TRANSFER_DUE_DAYS"])
    orders.fulfil(attempt, user, order, now=now, billing_method="bank_transfer", label="Bank transfer", due_at=due)
    db.session.commit()
    return _outcome(attempt)


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except sa.exc.DBAPIError:
        pass


def completed(user: User, attempt_id) -> tuple[CheckoutAttempt, list[Invoice]]:
    try:
        attempt_id = uuid.UUID(str(attempt_id))
    except ValueError:
        raise NotFound("We couldn't find that order.") from None
    attempt = db.session.get(CheckoutAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id or attempt.status != "succeeded":
        raise NotFound("We couldn't find that order.")
    invoices = list(
        db.session.scalars(sa.select(Invoice).where(Invoice.checkout_id == attempt.id).order_by(Invoice.number))
    )
    return attempt, invoices
