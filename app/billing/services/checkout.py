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

import contextlib
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app

from app.account.services import BillingDetails
from app.billing import coupons, credit, locks, notices, orders
from app.billing import invoices as invoice_service
from app.billing.answers import Answers, collect_answers
from app.billing.gateway import CardDetails, GatewayResult, GatewayUnavailable, PaymentGateway, SavedCard, get_gateway
from app.billing.gateway.cards import CardEntry, check_card
from app.billing.pricing import Quote
from app.billing.services import cart as cart_service
from app.billing.services.cart import CartView
from app.billing.settlement import apply_outcome, lock_transaction
from app.billing.sql import insert
from app.errors import FORM, Conflict, ExternalServiceError, NotFound, PaymentDeclined, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import LIVE_STATUSES, Invoice, Subscription, Transaction
from app.models.checkout import CheckoutAttempt
from app.models.user import User

log = logging.getLogger(__name__)

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,80}$")
OUT_OF_DATE = "This checkout form is out of date. Review your order and pay again."
CONFIRMING = (
    "We're waiting for the payment service to confirm it, then we finish your order. You won't be "
    "charged twice for this order: check again in a moment, and your receipt will follow by email."
)
NOT_RECORDED = "We couldn't reach our database just now, so this attempt charged nothing. Try again in a moment."
UNREACHED = (
    "We couldn't reach the payment service. Paying again is safe: you will never be charged twice for this order."
)


class PaymentMethod(StrEnum):
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"


@dataclass(frozen=True)
class CheckoutRequest:
    """A submitted review: pay for the cart as it was reviewed (`review_fingerprint`), once per key."""

    user_id: uuid.UUID
    idempotency_key: str
    review_fingerprint: str
    payment_method: PaymentMethod = PaymentMethod.CARD
    card: CardEntry = field(default_factory=CardEntry)
    # With a gateway that collects the card in the browser (Stripe): the SetupIntent the browser confirmed,
    # instead of card fields.
    setup_intent: str = ""
    # The answers to each cart product's checkout questions, by product id.
    answers: Mapping[uuid.UUID, Mapping[str, str]] = field(default_factory=dict)
    # The billing details given on the review page (None: the profile's, unchanged).
    billing: BillingDetails | None = None


@dataclass(frozen=True)
class CheckoutResult:
    """A placed order (`confirmed`), or one whose payment the gateway has yet to confirm."""

    attempt_id: uuid.UUID
    confirmed: bool = True
    # The customer's bank wants them to confirm the payment (3-D Secure): the secret their browser confirms it
    # with, after which the same form is sent again and settles the attempt from the gateway's answer.
    action_secret: str | None = None


class ReviewAgain(Conflict):
    """The order can't be paid as reviewed (the cart changed, or this key is spent): review it with a new key."""


class NotRecorded(ExternalServiceError):
    """The database failed before the attempt was recorded, so nothing was charged."""


def answer_error_key(product_id: uuid.UUID, name: str) -> str:
    """The ValidationError key of an answer to one product's question."""
    return f"answers:{product_id}:{name}"


@dataclass(frozen=True)
class Call:
    """One gateway charge of a recorded attempt, with everything it needs (no database between commit and call)."""

    attempt_id: uuid.UUID
    tx_id: uuid.UUID
    amount: int
    currency: str
    token: str
    key: str
    metadata: Mapping[str, str] = field(default_factory=dict)


def valid_key(raw: str) -> bool:
    return bool(KEY_RE.match(raw))


def submit(request: CheckoutRequest) -> CheckoutResult:
    """Pay for the reviewed cart. Raises ValidationError, Conflict (ReviewAgain), PaymentDeclined,
    ExternalServiceError (NotRecorded: nothing was recorded nor charged)."""
    try:
        return _submit(request)
    except sa.exc.DBAPIError:
        # Before this request committed an attempt: it called no gateway.
        log.exception("checkout: database error before the attempt was recorded")
        _rollback_quietly()
        raise NotRecorded(NOT_RECORDED) from None


def _submit(request: CheckoutRequest) -> CheckoutResult:
    key = request.idempotency_key
    if not valid_key(key):
        raise ValidationError({FORM: OUT_OF_DATE})
    posted = request.review_fingerprint
    existing = _by_key(key)
    user = db.session.get(User, request.user_id)
    if user is None:
        raise NotFound("We couldn't find your account.")
    if existing is not None:
        return _replay(existing, user, posted)
    view = cart_service.view(user, acknowledge=False)
    quote = view.quote
    if not quote.lines or quote.problems:
        raise Conflict(" ".join(quote.problems) or "Your cart is empty.")
    if quote.fingerprint() != posted and view.promo_error:
        raise ReviewAgain(f"{view.promo_error} Check the new total below and pay again.")
    if quote.fingerprint() != posted:
        raise ReviewAgain(
            "Your cart or its prices changed since you reviewed it. Check the new total below and pay again."
        )
    covered = 0 < quote.total <= credit.balance_of(user.id, quote.currency)
    card, errors = (None, {}) if covered else _card_errors(request, get_gateway())
    answers, answer_errors = collect_answers(view, request.answers)
    errors |= {answer_error_key(pid, name): msg for pid, found in answer_errors.items() for name, msg in found.items()}
    if errors:
        raise ValidationError(errors)
    attempt = _claim(key, user, quote, request.payment_method)
    if attempt is None:
        db.session.rollback()  # the other submit committed: read its result
        return _replay(_existing(key), user, posted)
    try:
        with locks.checkout_lock(user.id):
            return _place(user, attempt, view, answers, card, request.billing, request.setup_intent.strip())
    except locks.CheckoutBusy:
        db.session.rollback()
        raise Conflict("Another payment of yours is still being processed. Try again in a moment.") from None


def _card_errors(request: CheckoutRequest, gateway: PaymentGateway) -> tuple[CardDetails | None, dict[str, str]]:
    """The typed card, checked; with a gateway that collects it in the browser, only that it was set up there."""
    if request.payment_method is not PaymentMethod.CARD:
        return None, {}
    if gateway.collects_card_in_browser:
        return None, {} if request.setup_intent.strip() else {"card": "Enter your card details"}
    return check_card(request.card)


def _existing(key: str) -> CheckoutAttempt:
    attempt = _by_key(key)
    if attempt is None:  # the submit that held the key rolled back
        raise Conflict("This payment is still being processed. Refresh in a moment.")
    return attempt


def _by_key(key: str) -> CheckoutAttempt | None:
    return db.session.scalar(
        sa.select(CheckoutAttempt).where(CheckoutAttempt.key == key).execution_options(populate_existing=True)
    )


def _claim(key: str, user: User, quote: Quote, method: PaymentMethod) -> CheckoutAttempt | None:
    """Insert the attempt row; None if another submit holds (or held) the key."""
    attempt_id = uuid.uuid4()
    inserted = db.session.execute(
        insert(CheckoutAttempt)
        .values(
            id=attempt_id,
            key=key,
            user_id=user.id,
            fingerprint=quote.fingerprint(),
            payment_method=method.value,
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


def _place(
    user: User,
    attempt: CheckoutAttempt,
    view: CartView,
    answers: Answers,
    card: CardDetails | None,
    billing: BillingDetails | None = None,
    setup_intent: str = "",
) -> CheckoutResult:
    """Holding the customer's lock: nothing of theirs changes under us until this order is settled."""
    owned = [line.product_name for line in view.quote.lines if line.product_id in _owned_products(user.id)]
    if owned:
        db.session.rollback()
        raise Conflict(f"You already subscribe to {', '.join(owned)}. Remove it from your cart.")
    _reserve_code(user, attempt, view)
    held = credit.reserve_for_checkout(attempt)  # the balance pays first; the card only what is left
    if 0 < attempt.amount <= held:
        return _paid_by_credit(user, attempt, view, answers, billing)
    if attempt.payment_method == "bank_transfer":
        return _bank_transfer(user, attempt, view, answers, billing)
    gateway = get_gateway()
    saved = _saved_card(gateway, user, card, setup_intent)
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=user.id,
        kind="charge",
        purpose="checkout",
        status="pending",
        amount=attempt.amount - held,
        currency=attempt.currency,
        gateway=gateway.name,
        idempotency_key=f"checkout:{attempt.key}",
    )
    db.session.add(tx)
    db.session.flush()
    attempt.transaction_id, attempt.status = tx.id, "charging"
    holder_name = card.name if card is not None else saved.holder_name
    attempt.snapshot = orders.snapshot(user, view, answers, card=saved, holder_name=holder_name, billing=billing)
    call = Call(attempt.id, tx.id, tx.amount, attempt.currency, saved.token, tx.idempotency_key, _metadata(attempt, tx))
    db.session.commit()  # recorded before any money moves
    return _charge(call)


def _reserve_code(user: User, attempt: CheckoutAttempt, view: CartView) -> None:
    """The order's promo code takes its place now, committed with the attempt; if another checkout took the
    last one meanwhile, nothing is recorded nor charged."""
    if view.promo is None:
        return
    try:
        coupons.reserve(attempt, view.promo.code.id, user.id)
    except Conflict as exc:
        db.session.rollback()
        raise ReviewAgain(exc.message) from None


def _saved_card(gateway: PaymentGateway, user: User, card: CardDetails | None, setup_intent: str) -> SavedCard:
    """The card to charge: the typed one tokenized, or the one the browser set up (its SetupIntent). On any
    refusal the unsaved attempt is rolled back: nothing was recorded, nothing charged."""
    try:
        if gateway.collects_card_in_browser and setup_intent:
            return gateway.card_from_setup(setup_intent, user)
        if card is not None and not gateway.collects_card_in_browser:
            return gateway.tokenize(card)
    except GatewayUnavailable:
        db.session.rollback()
        raise ExternalServiceError("We couldn't reach the payment service. Try again in a moment.") from None
    except PaymentDeclined as exc:
        db.session.rollback()
        raise PaymentDeclined(exc.message, field="card") from None
    except NotFound:
        db.session.rollback()
        raise
    # Checked before the attempt was claimed; never charge without a card.
    db.session.rollback()
    if gateway.collects_card_in_browser:
        raise ValidationError({"card": "Enter your card details"})
    raise ValidationError({"card_number": "Enter your card number"})


def _metadata(attempt: CheckoutAttempt, tx: Transaction) -> dict[str, str]:
    """What names this payment at the gateway: our transaction, the customer, the attempt and its invoices."""
    return {
        "transaction_id": str(tx.id),
        "user_id": str(attempt.user_id),
        "attempt_id": str(attempt.id),
        "invoice_ids": ",".join(attempt.snapshot.get("invoice_ids") or [])[:500],
    }


def _owned_products(user_id: uuid.UUID) -> set[uuid.UUID]:
    """Products this user pays for now (a trial is converted by buying, so it doesn't count)."""
    return set(
        db.session.scalars(
            sa.select(Subscription.product_id).where(
                Subscription.user_id == user_id, Subscription.status.in_(LIVE_STATUSES), Subscription.status != "trial"
            )
        )
    )


def _charge(call: Call) -> CheckoutResult:
    try:
        result = get_gateway().charge(
            amount=call.amount,
            currency=call.currency,
            token=call.token,
            idempotency_key=call.key,
            description=f"Checkout {call.attempt_id}",
            metadata=call.metadata,
        )
    except GatewayUnavailable:
        _mark_unreached(call)
        raise ExternalServiceError(UNREACHED) from None
    if result.requires_action:
        return _awaiting_customer(call, result)
    return _settle(call, result)


def _awaiting_customer(call: Call, result: GatewayResult) -> CheckoutResult:
    """The bank wants the customer to confirm: the attempt stays open (its payment's reference kept), and the
    browser confirms with the secret, then sends the same form again, which settles it from the gateway."""
    try:
        tx = _locked(call.tx_id)
        tx.gateway_reference = tx.gateway_reference or result.reference
        db.session.commit()
    except sa.exc.DBAPIError:  # the lookup by key finds the payment all the same
        log.exception("checkout %s: could not record the payment awaiting confirmation", call.attempt_id)
        _rollback_quietly()
    return CheckoutResult(call.attempt_id, confirmed=False, action_secret=result.client_secret)


def _locked(tx_id: uuid.UUID | None) -> Transaction:
    """The attempt's transaction, row-locked (it was committed with the attempt, so it exists)."""
    tx = lock_transaction(Transaction.id == tx_id) if tx_id is not None else None
    if tx is None:
        raise NotFound("We couldn't find that payment.")
    return tx


def _attempt(attempt_id: uuid.UUID) -> CheckoutAttempt:
    attempt = db.session.get(CheckoutAttempt, attempt_id, populate_existing=True)
    if attempt is None:
        raise NotFound("We couldn't find that order.")
    return attempt


def _mark_unreached(call: Call) -> None:
    """The call got no answer: a retry may ask the gateway and, if it never saw the key, charge again."""
    try:
        attempt = db.session.get(CheckoutAttempt, call.attempt_id, with_for_update=True, populate_existing=True)
        if attempt is not None and attempt.status == "charging":
            attempt.status = "unreached"
        db.session.commit()
    except sa.exc.DBAPIError:  # still "charging": only reconciliation will decide, never a second charge
        log.exception("checkout %s: could not record that the gateway did not answer", call.attempt_id)
        _rollback_quietly()


def _settle(call: Call, result: GatewayResult) -> CheckoutResult:
    """Apply the gateway's answer in a transaction of its own; if it fails, the attempt stays open."""
    try:
        tx = _locked(call.tx_id)
        tx.gateway_reference = tx.gateway_reference or result.reference
        apply_outcome(tx, result.status, failure_code=result.failure_code, message=result.message, now=utcnow())
        db.session.commit()
        return _outcome(_attempt(call.attempt_id))
    except sa.exc.DBAPIError:
        log.exception(
            "checkout %s: charged %s but could not settle; it stays open for reconciliation",
            call.attempt_id,
            result.reference,
        )
        _rollback_quietly()
        return _confirming(call.attempt_id)


def _replay(attempt: CheckoutAttempt, user: User, fingerprint: str) -> CheckoutResult:
    if attempt.user_id != user.id or attempt.fingerprint != fingerprint:
        raise ReviewAgain(
            "This payment was already submitted for a different cart. "
            "Review your order again and pay from the new page."
        )
    if attempt.status in orders.OPEN:
        return _resume(attempt.id, user.id)
    return _outcome(attempt)


def _outcome(attempt: CheckoutAttempt) -> CheckoutResult:
    """The result of a closed (or still open) attempt; a declined or refunded one raises."""
    if attempt.status == "succeeded":
        return CheckoutResult(attempt.id)
    if attempt.status == "declined":
        raise PaymentDeclined(attempt.result.get("message") or "Your card was declined.", field="card_number")
    if attempt.status == "refunded":
        raise ReviewAgain(attempt.result.get("message"))
    if attempt.status in orders.OPEN:
        return _confirming(attempt.id)
    raise Conflict("This payment is still being processed. Refresh in a moment.")


def _confirming(attempt_id: uuid.UUID) -> CheckoutResult:
    return CheckoutResult(attempt_id, confirmed=False)


def _resume(attempt_id: uuid.UUID, user_id: uuid.UUID) -> CheckoutResult:
    """A retried submit of an open attempt: wait for its submit, then finish it from the gateway's answer."""
    db.session.rollback()  # give this request's connection back while it waits for the lock
    try:
        with locks.checkout_lock(user_id):
            attempt = _attempt(attempt_id)
            if attempt.status not in orders.OPEN:
                return _outcome(attempt)
            return _confirm(attempt)
    except (locks.CheckoutBusy, sa.exc.DBAPIError):
        log.warning("checkout %s: could not confirm the payment now", attempt_id, exc_info=True)
        _rollback_quietly()
        return _confirming(attempt_id)


def _confirm(attempt: CheckoutAttempt) -> CheckoutResult:
    """No request is charging this attempt (we hold the lock): ask the gateway what became of it."""
    tx = _locked(attempt.transaction_id)
    call = Call(
        attempt.id,
        tx.id,
        tx.amount,
        tx.currency,
        (attempt.snapshot.get("card") or {}).get("token", ""),
        tx.idempotency_key,
        _metadata(attempt, tx),
    )
    try:
        known = get_gateway().retrieve(tx.idempotency_key)
    except GatewayUnavailable:
        db.session.rollback()
        return _confirming(attempt.id)
    if known is None and attempt.status == "unreached":
        attempt.status = "charging"
        db.session.commit()  # recorded before the second call, as before the first
        return _charge(call)
    if known is None or known.status == "pending":
        db.session.rollback()  # the first call may still land: reconciliation decides after a while
        # Still waiting for the customer's bank (3-D Secure): the browser may confirm it again.
        return CheckoutResult(attempt.id, confirmed=False, action_secret=known.client_secret if known else None)
    return _settle(call, known)


def _bank_transfer(
    user: User, attempt: CheckoutAttempt, view: CartView, answers: Answers, billing: BillingDetails | None
) -> CheckoutResult:
    """No money moves now: the order is fulfilled in this one transaction, its invoices open and due later."""
    now = utcnow()
    attempt.snapshot = orders.snapshot(user, view, answers, billing=billing)
    order = orders.load(attempt, user.id)
    due = now + timedelta(days=current_app.config["BANK_TRANSFER_DUE_DAYS"])
    orders.fulfil(attempt, user, order, now=now, billing_method="bank_transfer", label="Bank transfer", due_at=due)
    db.session.commit()
    return _outcome(attempt)


def _paid_by_credit(
    user: User, attempt: CheckoutAttempt, view: CartView, answers: Answers, billing: BillingDetails | None
) -> CheckoutResult:
    """The credit balance pays the whole order: no gateway call, the order fulfilled and its invoices paid in this
    one transaction."""
    now = utcnow()
    attempt.snapshot = orders.snapshot(user, view, answers, billing=billing)
    order = orders.load(attempt, user.id)
    invoices = orders.fulfil(attempt, user, order, now=now, billing_method="card", label="Credit balance", due_at=now)
    for invoice in invoices:
        if invoice_service.mark_paid(invoice, now=now):
            notices.receipt(invoice, paid_on=now)
    db.session.commit()
    return _outcome(attempt)


def _rollback_quietly() -> None:
    with contextlib.suppress(sa.exc.DBAPIError):
        db.session.rollback()


def completed(user_id: uuid.UUID, attempt_id: uuid.UUID) -> tuple[CheckoutAttempt, list[Invoice]]:
    """A placed order of this user and its invoices. Raises NotFound (also for another user's order)."""
    attempt = db.session.get(CheckoutAttempt, attempt_id)
    if attempt is None or attempt.user_id != user_id or attempt.status != "succeeded":
        raise NotFound("We couldn't find that order.")
    invoices = list(
        db.session.scalars(sa.select(Invoice).where(Invoice.checkout_id == attempt.id).order_by(Invoice.number))
    )
    return attempt, invoices
