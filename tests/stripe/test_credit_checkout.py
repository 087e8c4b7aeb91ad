"""Checkout with Stripe and a credit balance: covered in full, Stripe is never asked; in part, it charges the rest."""

import pytest
import sqlalchemy as sa

from app.billing import credit
from app.extensions import db
from app.models.billing import Invoice, Transaction
from tests.support.checkout import add_to_cart, review
from tests.support.stripe_cards import confirm_setup


@pytest.fixture(autouse=True)
def _context(app, make_app):
    with app.app_context():
        yield
        db.session.remove()


def _give(user_id, amount):
    credit.add_credit(user_id, "USD", amount, "adjustment", reason="Goodwill")
    db.session.commit()


def test_an_order_the_balance_covers_needs_no_card_and_makes_no_payment_intent(
    stripe, signed_in, user, shop, client_sdk
):
    _give(user.id, 6000)
    add_to_cart(signed_in, shop["crm_team"])
    html, key, fingerprint = review(signed_in)
    assert "data-stripe-card" not in html and "Pay with credit" in html
    response = signed_in.post(
        "/checkout", data={"idempotency_key": key, "review_fingerprint": fingerprint, "payment_method": "card"}
    )
    assert response.status_code == 303 and "/checkout/complete/" in response.headers["Location"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 0
    assert client_sdk.v1.payment_intents.list().data == []
    invoice = db.session.scalar(sa.select(Invoice))
    assert (invoice.status, invoice.credit_applied) == ("paid", 5390)


def test_an_order_the_balance_covers_in_part_charges_stripe_only_the_rest(
    stripe, signed_in, user, shop, localstripe, client_sdk
):
    _give(user.id, 1000)
    add_to_cart(signed_in, shop["crm_team"])
    _, key, fingerprint = review(signed_in)
    secret = signed_in.post("/payment/card-setup").get_json()["client_secret"]
    confirm_setup(localstripe, secret, "4242424242424242")
    response = signed_in.post(
        "/checkout",
        data={
            "idempotency_key": key,
            "review_fingerprint": fingerprint,
            "payment_method": "card",
            "setup_intent": secret.split("_secret_")[0],
        },
    )
    assert response.status_code == 303 and "/checkout/complete/" in response.headers["Location"]
    db.session.rollback()
    tx = db.session.scalar(sa.select(Transaction))
    assert (tx.status, tx.amount, tx.gateway) == ("succeeded", 4390, "stripe")
    [intent] = client_sdk.v1.payment_intents.list().data
    assert intent.amount == 4390
    assert db.session.scalar(sa.select(Invoice)).credit_applied == 1000
    assert credit.balance_of(user.id, "USD") == 0
