"""Checkout with Stripe over HTTP: the card is confirmed at localstripe (as the card element's Stripe.js does),
our server gets only the SetupIntent id, and charges one PaymentIntent per attempt."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, PaymentMethod, Transaction
from app.models.checkout import CheckoutAttempt
from tests.support.checkout import add_to_cart, hidden, review
from tests.support.faults import proxy_in_front_of
from tests.support.localstripe import stripe_config
from tests.support.stripe_cards import authenticate_payment, confirm_setup

CARD_FIELDS = ("card_number", "card_expiry", "card_cvc")


@pytest.fixture(autouse=True)
def _context(app, make_app):
    """An app context for the assertions, closed before make_app's apps empty the tables."""
    with app.app_context():
        yield
        db.session.remove()


def _s():
    """The session, its transaction ended: each assertion reads what the requests committed."""
    db.session.rollback()
    return db.session


@pytest.fixture
def shopper(stripe, signed_in, shop):
    add_to_cart(signed_in, shop["crm_team"])
    return signed_in


def _setup(client, localstripe, number: str) -> str:
    """What the card element does on Pay: ask us for a SetupIntent, confirm the card at Stripe."""
    answer = client.post("/payment/card-setup")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    secret = answer.get_json()["client_secret"]
    confirm_setup(localstripe, secret, number)
    return secret.split("_secret_")[0]


def _form(client, localstripe, number: str = "4242424242424242") -> dict:
    _, key, fingerprint = review(client)
    return {
        "idempotency_key": key,
        "review_fingerprint": fingerprint,
        "payment_method": "card",
        "setup_intent": _setup(client, localstripe, number),
    }


def _paid_invoices():
    return _s().scalars(sa.select(Invoice).where(Invoice.status == "paid")).all()


def _count(model) -> int:
    return _s().scalar(sa.select(sa.func.count()).select_from(model))


def test_the_review_page_has_the_card_element_and_no_card_fields(shopper, localstripe):
    html, _, _ = review(shopper)
    assert "data-stripe-card" in html and 'name="setup_intent"' in html
    assert not [name for name in CARD_FIELDS if f'name="{name}"' in html]
    assert f'<script src="{localstripe.js_url}"' in html
    assert 'src="/static/js/stripe_card.js"' in html


def test_the_csp_allows_localstripes_one_origin_for_script_frames_and_api_and_nothing_more(shopper, localstripe):
    csp = shopper.get("/checkout").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    nonce = re.search(r"'nonce-[^']+'", directives["script-src"]).group(0)
    assert directives["script-src"] == f"'self' {nonce} {localstripe.base}"
    assert directives["connect-src"] == f"'self' {localstripe.base}"
    assert directives["frame-src"] == f"'self' {localstripe.base}"
    assert directives["default-src"] == "'self'" and directives["form-action"] == "'self'"


def test_the_csp_for_stripes_own_script_allows_its_api_and_its_frames(stripe):
    stripe.config.update(STRIPE_JS_URL="https://js.stripe.com/v3/", STRIPE_API_BASE="https://api.stripe.com")
    csp = stripe.test_client().get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"].endswith("' https://js.stripe.com")
    assert directives["connect-src"] == "'self' https://api.stripe.com"
    assert directives["frame-src"] == "'self' https://js.stripe.com https://hooks.stripe.com"


def test_the_sandbox_csp_is_unchanged(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert csp == (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert "stripe" not in client.get("/").get_data(as_text=True).lower()


def test_a_card_setup_is_a_setup_intent_on_the_signed_in_users_customer(shopper, user, localstripe):
    answer = shopper.post("/payment/card-setup")
    assert answer.status_code == 200 and answer.headers["Cache-Control"].startswith("no-store")
    seti = answer.get_json()["client_secret"].split("_secret_")[0]
    held = localstripe.api("GET", f"setup_intents/{seti}")
    customer = localstripe.api("GET", f"customers/{held['customer']}")
    assert customer["metadata"] == {"user_id": str(user.id)} and held["usage"] == "off_session"


def test_a_card_setup_needs_a_sign_in_and_a_csrf_token(stripe, signed_in):
    assert stripe.test_client().post("/payment/card-setup").status_code in (302, 401)
    stripe.config["WTF_CSRF_ENABLED"] = True
    assert signed_in.post("/payment/card-setup").status_code == 400


def test_paying_with_a_confirmed_card_charges_one_payment_intent_naming_the_attempt_and_invoices(
    shopper, user, localstripe
):
    form = _form(shopper, localstripe)
    response = shopper.post("/checkout", data=form)
    assert response.status_code == 303 and "/checkout/complete/" in response.headers["Location"]
    # The same form again replays the first result.
    assert shopper.post("/checkout", data=form).headers["Location"] == response.headers["Location"]
    [invoice] = _paid_invoices()
    attempt = _s().scalar(sa.select(CheckoutAttempt))
    tx = _s().scalar(sa.select(Transaction))
    [intent] = localstripe.api("GET", "payment_intents")["data"]
    assert intent["status"] == "succeeded" and intent["id"] == tx.gateway_reference
    assert intent["amount"] == invoice.total and intent["currency"] == invoice.currency.lower()
    assert intent["metadata"]["attempt_id"] == str(attempt.id)
    assert intent["metadata"]["invoice_ids"] == str(invoice.id)
    assert intent["metadata"]["user_id"] == str(user.id)
    assert intent["metadata"]["transaction_id"] == str(tx.id)
    assert intent["metadata"]["idempotency_key"] == tx.idempotency_key
    method = _s().scalar(sa.select(PaymentMethod))
    assert method.token == intent["payment_method"] and method.gateway == "stripe" and method.is_default
    assert (method.brand, method.last4, method.holder_name) == ("Visa", "4242", "Ada Buyer")
    assert tx.gateway == "stripe" and tx.status == "succeeded" and tx.payment_method_id == method.id
    assert len(localstripe.api("GET", "payment_intents")["data"]) == 1


def test_a_submit_without_a_confirmed_card_is_refused_next_to_the_card_and_charges_nothing(shopper, localstripe):
    _, key, fingerprint = review(shopper)
    base = {"idempotency_key": key, "review_fingerprint": fingerprint, "payment_method": "card"}
    missing = shopper.post("/checkout", data=base)
    assert missing.status_code == 400 and "Enter your card details" in missing.get_data(as_text=True)
    answer = shopper.post("/payment/card-setup")
    unconfirmed = answer.get_json()["client_secret"].split("_secret_")[0]
    refused = shopper.post("/checkout", data={**base, "setup_intent": unconfirmed})
    assert refused.status_code == 402 and "hasn&#39;t been confirmed" in refused.get_data(as_text=True)
    assert _count(CheckoutAttempt) == 0 and _count(Transaction) == 0
    assert localstripe.api("GET", "payment_intents")["data"] == []


def test_another_users_setup_intent_is_a_404_and_charges_nothing(stripe, shopper, localstripe, app):
    from tests.support.users import make_user, sign_in

    other = app.test_client()
    with app.app_context():
        sign_in(other, make_user(username="mallory"))
    theirs = _setup(other, localstripe, "4242424242424242")
    _, key, fingerprint = review(shopper)
    form = {"idempotency_key": key, "review_fingerprint": fingerprint, "payment_method": "card", "setup_intent": theirs}
    assert shopper.post("/checkout", data=form).status_code == 404
    assert _count(CheckoutAttempt) == 0 and localstripe.api("GET", "payment_intents")["data"] == []


def test_a_card_whose_charges_decline_shows_stripes_message_and_nothing_is_paid(shopper, localstripe):
    response = shopper.post("/checkout", data=_form(shopper, localstripe, "4000000000000341"))
    page = response.get_data(as_text=True)
    assert response.status_code == 402 and "Your card was declined." in page
    assert _paid_invoices() == [] and _s().scalar(sa.select(Transaction.status)) == "failed"
    assert [pi["status"] for pi in localstripe.api("GET", "payment_intents")["data"]] == ["requires_payment_method"]


def test_a_card_needing_3d_secure_is_confirmed_in_the_browser_then_the_same_form_settles_it_once(shopper, localstripe):
    form = _form(shopper, localstripe, "4000002500003155")
    asked = shopper.post("/checkout", data=form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 202 and "Your bank wants you to confirm this payment" in page
    secret = re.search(r'data-action-secret="([^"]+)"', page).group(1)
    assert hidden(page, "idempotency_key") == form["idempotency_key"]
    assert _paid_invoices() == [] and _s().scalar(sa.select(CheckoutAttempt.status)) == "charging"
    authenticate_payment(localstripe, secret)
    done = shopper.post("/checkout", data={**form, "setup_intent": ""})
    assert done.status_code == 303 and "/checkout/complete/" in done.headers["Location"]
    assert len(_paid_invoices()) == 1
    assert [pi["status"] for pi in localstripe.api("GET", "payment_intents")["data"]] == ["succeeded"]
    assert shopper.post("/checkout", data=form).headers["Location"] == done.headers["Location"]


def test_a_3d_secure_prompt_the_customer_fails_is_declined_and_nothing_is_paid(shopper, localstripe):
    form = _form(shopper, localstripe, "4000002500003155")
    page = shopper.post("/checkout", data=form).get_data(as_text=True)
    authenticate_payment(localstripe, re.search(r'data-action-secret="([^"]+)"', page).group(1), success=False)
    declined = shopper.post("/checkout", data=form)
    assert declined.status_code == 402 and "failed authentication" in declined.get_data(as_text=True)
    assert _paid_invoices() == []


def test_stripe_unreachable_before_the_charge_records_nothing_and_the_same_form_pays_later(
    stripe, shopper, localstripe
):
    form = _form(shopper, localstripe)
    stripe.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    failed = shopper.post("/checkout", data=form)
    assert failed.status_code == 502
    assert "couldn't reach the payment service" in failed.get_data(as_text=True).replace("&#39;", "'")
    assert _paid_invoices() == [] and _count(CheckoutAttempt) == 0
    stripe.config["STRIPE_API_BASE"] = localstripe.base
    assert shopper.post("/checkout", data=form).status_code == 303
    assert len(_paid_invoices()) == 1 and len(localstripe.api("GET", "payment_intents")["data"]) == 1


def test_stripe_lost_at_the_charge_leaves_the_attempt_open_and_the_same_form_charges_once(
    stripe, shopper, localstripe, monkeypatch
):
    from app.billing.gateway.stripe import StripeGateway

    proxy = proxy_in_front_of(localstripe.base, 80)
    stripe.config["STRIPE_API_BASE"] = proxy.url_for(localstripe.base)
    real = StripeGateway.card_from_setup

    def then_stripe_is_gone(self, *args, **kwargs):
        card = real(self, *args, **kwargs)
        proxy.refuse()  # the card was found; the PaymentIntent create gets no answer
        return card

    monkeypatch.setattr(StripeGateway, "card_from_setup", then_stripe_is_gone)
    try:
        form = _form(shopper, localstripe)
        failed = shopper.post("/checkout", data=form)
        assert failed.status_code == 502 and _paid_invoices() == []
        assert _s().scalar(sa.select(CheckoutAttempt.status)) == "unreached"
        assert localstripe.api("GET", "payment_intents")["data"] == []
        proxy.accept()
        monkeypatch.setattr(StripeGateway, "card_from_setup", real)
        assert shopper.post("/checkout", data=form).status_code == 303
        assert shopper.post("/checkout", data=form).status_code == 303
    finally:
        proxy.stop()
    assert len(_paid_invoices()) == 1 and len(localstripe.api("GET", "payment_intents")["data"]) == 1


def _on_stripe(made, localstripe, **overrides):
    return made(**stripe_config(localstripe), **overrides)


def test_card_setups_are_limited_per_signed_in_user(stripe, make_app, user, localstripe):
    from tests.support.users import sign_in

    limited = _on_stripe(make_app, localstripe, RATELIMIT_ENABLED=True)
    client = limited.test_client()
    with limited.app_context():
        sign_in(client, user)
    answers = [client.post("/payment/card-setup").status_code for _ in range(21)]
    assert answers[:20] == [200] * 20 and answers[20] == 429
    assert len(localstripe.api("GET", "setup_intents", limit=100)["data"]) == 20


@pytest.mark.postgres
def test_our_database_gone_right_after_the_commit_still_charges_the_right_customer_and_settles_once(
    stripe, make_app, proxy, user, shop, localstripe, monkeypatch
):
    from app.billing.gateway.stripe import StripeGateway
    from tests.conftest import SERVICES
    from tests.support.users import sign_in

    behind = _on_stripe(make_app, localstripe, SQLALCHEMY_DATABASE_URI=proxy.url_for(SERVICES.database_url))
    client = behind.test_client()
    with behind.app_context():
        sign_in(client, user)
    add_to_cart(client, shop["crm_team"])
    form = _form(client, localstripe)
    real = StripeGateway.charge

    def database_gone_then_charge(self, **kwargs):
        proxy.refuse()  # the attempt is committed; our database goes before the PaymentIntent is made
        return real(self, **kwargs)

    monkeypatch.setattr(StripeGateway, "charge", database_gone_then_charge)
    waiting = client.post("/checkout", data=form)
    assert waiting.status_code == 202
    [intent] = localstripe.api("GET", "payment_intents")["data"]
    assert intent["status"] == "succeeded" and intent["customer"]
    proxy.accept()
    monkeypatch.setattr(StripeGateway, "charge", real)
    done = client.post("/checkout", data=form)
    assert done.status_code == 303 and "/checkout/complete/" in done.headers["Location"]
    assert len(_paid_invoices()) == 1 and len(localstripe.api("GET", "payment_intents")["data"]) == 1
