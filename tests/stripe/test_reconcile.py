"""Reconciliation with Stripe, against a real localstripe: a checkout whose answer was lost is settled once from
the PaymentIntent found by its metadata, and what Stripe and our books disagree on is reported to the admin.

The lost answer is made the way it happens: the checkout attempt and its pending transaction are committed as
the checkout service commits them, the PaymentIntent is created and confirmed at localstripe with our metadata,
and nothing of its answer is recorded here (the request died right after the call).
"""

import html
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.billing import orders
from app.billing.gateway.stripe import StripeGateway
from app.billing.services import cart as cart_service
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from app.models.checkout import CheckoutAttempt
from app.models.reconciliation import PaymentMismatch
from app.models.user import User
from tests.admin.conftest import client_as
from tests.stripe.test_refunds import paid_at_stripe
from tests.support.checkout import add_to_cart
from tests.support.stripe_cards import saved_card

LATER = timedelta(minutes=16)  # reconciliation leaves payments younger than 15 minutes to their own request


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def lost_checkout(localstripe, user_id: uuid.UUID) -> dict:
    """The customer's cart charged at Stripe, the answer never recorded here (inside an app context)."""
    user = db.session.get(User, user_id)
    card = saved_card(localstripe, user)
    view = cart_service.view(user, acknowledge=False)
    quote = view.quote
    attempt = CheckoutAttempt(
        id=uuid.uuid4(),
        key=uuid.uuid4().hex,
        user_id=user.id,
        fingerprint=quote.fingerprint(),
        payment_method="card",
        status="charging",
        amount=quote.total,
        currency=quote.currency,
        snapshot=orders.snapshot(user, view, {}, card=card, holder_name="Ada Lovelace"),
        result={},
        created_at=utcnow(),
    )
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=user.id,
        kind="charge",
        purpose="checkout",
        status="pending",
        amount=quote.total,
        currency=quote.currency,
        gateway="stripe",
        idempotency_key=f"checkout:{attempt.key}",
    )
    db.session.add_all([attempt, tx])
    db.session.flush()
    attempt.transaction_id = tx.id
    db.session.commit()
    result = StripeGateway().charge(
        amount=tx.amount,
        currency=tx.currency,
        token=card.token,
        idempotency_key=tx.idempotency_key,
        metadata={"transaction_id": str(tx.id), "user_id": str(user.id), "attempt_id": str(attempt.id)},
    )
    assert result.succeeded
    return {"attempt": attempt.id, "tx": tx.id, "pi": result.reference, "amount": tx.amount}


@pytest.fixture
def lost(stripe_app, localstripe, signed_in, user, shop):  # shop: tests/stripe/conftest.py
    localstripe.flush()
    assert add_to_cart(signed_in, shop["crm_team"]).status_code in (200, 303)
    with stripe_app.test_request_context():
        return lost_checkout(localstripe, user.id)


def _reconcile(runner, time_machine, after: timedelta = LATER):
    time_machine.move_to(datetime.now(UTC) + after)
    return runner.invoke(args=["billing", "reconcile"])


def test_a_checkout_whose_answer_was_lost_is_completed_once_from_stripe(
    stripe_app, localstripe, lost, runner, time_machine
):
    young = runner.invoke(args=["billing", "reconcile"])  # under 15 minutes: left to its own request
    assert young.exit_code == 0, young.output
    with stripe_app.app_context():
        assert db.session.get(Transaction, lost["tx"]).status == "pending"

    first = _reconcile(runner, time_machine)
    assert first.exit_code == 0, first.output
    assert "checkouts completed: 1" in first.output and "mismatch" not in first.output
    second = _reconcile(runner, time_machine, LATER * 2)
    assert second.exit_code == 0 and "checkouts completed" not in second.output
    with stripe_app.app_context():
        tx = db.session.get(Transaction, lost["tx"])
        assert (tx.status, tx.gateway_reference) == ("succeeded", lost["pi"])
        assert db.session.get(CheckoutAttempt, lost["attempt"]).status == "succeeded"
        [invoice] = db.session.scalars(sa.select(Invoice)).all()
        assert (invoice.status, invoice.transaction_id, invoice.total) == ("paid", tx.id, lost["amount"])
        [sub] = db.session.scalars(sa.select(Subscription)).all()
        assert sub.status == "active"
    [intent] = localstripe.api("GET", "payment_intents")["data"]  # charged once, never again
    assert (intent["id"], intent["status"]) == (lost["pi"], "succeeded")


def test_reconciliation_reports_what_stripe_and_our_books_disagree_on(stripe_app, localstripe, runner, time_machine):
    localstripe.flush()
    with stripe_app.test_request_context():
        paid = paid_at_stripe(localstripe)  # $53.90, paid here and at Stripe
        ada = db.session.scalar(sa.select(User).where(User.username == "ada"))
        card = saved_card(localstripe, ada)
        # A payment with our key that we have no record of, and a refund made at Stripe's side only.
        ghost = StripeGateway().charge(
            amount=1200,
            currency="USD",
            token=card.token,
            idempotency_key="checkout:ghost",
            metadata={"transaction_id": str(uuid.uuid4()), "user_id": str(ada.id)},
        )
    localstripe.api("POST", "refunds", payment_intent=paid["pi"], amount=700)

    result = _reconcile(runner, time_machine)
    assert result.exit_code == 0, result.output
    assert "mismatches with the gateway (admin: Reconciliation): 2" in result.output
    assert f"mismatch {ghost.reference} (not_here): $12.00 succeeded at Stripe; we have no payment" in result.output
    assert f"mismatch {paid['pi']} (refunded): Stripe refunded $7.00 of $53.90; we refunded $0.00." in result.output
    with stripe_app.app_context():
        assert db.session.get(Transaction, paid["charge"]).status == "succeeded"  # reported, not changed

    admin = client_as(stripe_app, "admin", "root")
    page = admin.get("/admin/reconciliation")
    assert page.status_code == 200
    text = _text(page)
    assert ghost.reference in text and "we have no payment with its key" in text
    assert "Stripe refunded $7.00 of $53.90; we refunded $0.00." in text
    assert "Reconciliation" in _text(admin.get("/admin/"))  # in the sidebar

    # The next run finds the same two: still two rows, first seen kept.
    with stripe_app.app_context():
        first_seen = {m.problem: m.first_seen_at for m in db.session.scalars(sa.select(PaymentMismatch))}
    assert _reconcile(runner, time_machine, LATER * 2).exit_code == 0
    with stripe_app.app_context():
        rows = db.session.scalars(sa.select(PaymentMismatch)).all()
        assert {m.problem: m.first_seen_at for m in rows} == first_seen


def test_the_reconciliation_page_needs_billing_view(stripe_app):
    assert client_as(stripe_app, "customer", "buyer").get("/admin/reconciliation").status_code == 404
    page = client_as(stripe_app, "support", "helper").get("/admin/reconciliation")
    assert page.status_code == 200 and "No mismatches" in _text(page)


def test_a_lost_checkout_whose_amount_differs_at_stripe_is_reported_and_left_pending(
    stripe_app, localstripe, lost, runner, time_machine
):
    with stripe_app.app_context():
        tx = db.session.get(Transaction, lost["tx"])
        tx.amount += 100  # our record and Stripe's disagree by $1.00
        db.session.commit()
    result = _reconcile(runner, time_machine)
    assert result.exit_code == 0, result.output
    assert "payments left pending: the gateway's amount differs: 1" in result.output
    assert f"mismatch {lost['pi']} (amount): Stripe has $53.90; we have $54.90." in result.output
    with stripe_app.app_context():
        assert db.session.get(Transaction, lost["tx"]).status == "pending"  # never settled on a guess
        assert db.session.get(CheckoutAttempt, lost["attempt"]).status == "charging"
        assert db.session.scalars(sa.select(Invoice)).all() == []


def test_a_payment_we_hold_as_failed_that_succeeded_at_stripe_is_reported(
    stripe_app, localstripe, lost, runner, time_machine
):
    with stripe_app.app_context():
        tx = db.session.get(Transaction, lost["tx"])
        tx.status, tx.failure_code, tx.settled_at = "failed", "not_received", utcnow()
        db.session.commit()
    result = _reconcile(runner, time_machine)
    assert result.exit_code == 0, result.output
    assert f"mismatch {lost['pi']} (failed_here): $53.90 succeeded at Stripe; we have it as failed." in result.output
    with stripe_app.app_context():
        assert db.session.get(Transaction, lost["tx"]).status == "failed"  # reported for a person to decide
