"""The card for renewals with Stripe: the same card element and SetupIntent as checkout, no card fields."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import PaymentMethod
from tests.support.stripe_cards import confirm_setup


@pytest.fixture(autouse=True)
def _context(app):
    with app.app_context():
        yield


def _setup(client, localstripe, number: str | None) -> str:
    secret = client.post("/payment/card-setup").get_json()["client_secret"]
    if number:
        confirm_setup(localstripe, secret, number)
    return secret.split("_secret_")[0]


def _methods():
    db.session.rollback()
    return db.session.scalars(sa.select(PaymentMethod).order_by(PaymentMethod.created_at)).all()


def test_the_page_has_the_card_element_and_no_card_fields(stripe, signed_in):
    html = signed_in.get("/payment-method").get_data(as_text=True)
    assert "data-stripe-card" in html and 'name="setup_intent"' in html
    assert 'name="card_number"' not in html and 'name="card_cvc"' not in html


def test_a_card_confirmed_in_the_browser_replaces_the_card_for_renewals(stripe, signed_in, localstripe):
    for number in ("4242424242424242", "4000000000000341"):
        saved = signed_in.post("/payment-method", data={"setup_intent": _setup(signed_in, localstripe, number)})
        assert saved.status_code == 303
    old, new = _methods()
    assert (old.last4, old.is_default) == ("4242", False)
    assert (new.last4, new.is_default, new.gateway) == ("0341", True, "stripe")
    held = localstripe.api("GET", f"payment_methods/{new.token}")
    assert held["customer"] and held["customer"] == localstripe.api("GET", f"payment_methods/{old.token}")["customer"]


def test_no_card_or_an_unconfirmed_one_is_refused_next_to_the_card_and_nothing_is_saved(stripe, signed_in, localstripe):
    missing = signed_in.post("/payment-method", data={})
    assert missing.status_code == 400 and "Enter your card details" in missing.get_data(as_text=True)
    unconfirmed = signed_in.post("/payment-method", data={"setup_intent": _setup(signed_in, localstripe, None)})
    assert unconfirmed.status_code == 400 and "confirmed" in unconfirmed.get_data(as_text=True)
    assert _methods() == []
