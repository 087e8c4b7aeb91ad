"""Renewals and paying an open invoice with Stripe (localstripe), over HTTP: off-session charges on the
saved card, a decline to past_due with the emailed link, the pay page's SetupIntent and 3-D Secure.

The browser's part (confirmCardSetup, confirmCardPayment) is replayed as the fake Stripe.js sends it
(tests/support/stripe_cards.py); tests/e2e/test_stripe_renewal_journey.py types into the real element."""

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.billing.gateway.stripe import StripeGateway
from app.billing.services.payment_methods import save
from app.extensions import db
from app.models.billing import PaymentMethod, Transaction
from app.models.user import User
from tests.support.checkout import hidden
from tests.support.renewals import billing_run, due_subscription, end_period_now, pay_link, state
from tests.support.stripe_cards import authenticate_payment, confirm_setup, saved_card
from tests.support.users import make_user, sign_in

CARD_DECLINES_CHARGES = "4000000000000341"
CARD_3DS = "4000002500003155"


@pytest.fixture
def stripe_client(stripe_app, localstripe, client, user):
    localstripe.flush()
    with stripe_app.app_context():
        sign_in(client, db.session.get(User, user.id))
    return client


def _save_card(app, localstripe, user, number):
    with app.test_request_context():
        buyer = db.session.get(User, user.id)
        method = save(buyer, saved_card(localstripe, buyer, number), holder_name="", gateway="stripe")
        db.session.commit()
        return method.token, StripeGateway().stored_customer(user.id)


def _intents(localstripe) -> list[dict]:
    return localstripe.api("GET", "payment_intents", limit=100)["data"]


def _secret(html: str, attribute: str) -> str:
    match = re.search(rf'{attribute}="([^"]+)"', html)
    assert match, f"no {attribute} in the page"
    return match.group(1)


def test_a_renewal_charges_the_saved_card_off_session_and_a_decline_makes_it_past_due_with_a_pay_link(
    stripe_app, localstripe, stripe_client, user, shop, smtp_sink, run_jobs
):
    token, customer = _save_card(stripe_app, localstripe, user, "4242424242424242")
    sub_id = due_subscription(stripe_app, user, shop["crm_team"])
    assert "charges succeeded: 1" in billing_run(stripe_app)
    sub, [invoice], [tx] = state(stripe_app, sub_id)
    assert sub.status == "active" and invoice.status == "paid"
    [intent] = _intents(localstripe)
    assert (intent["customer"], intent["payment_method"], intent["status"]) == (customer, token, "succeeded")
    assert (intent["amount"], intent["currency"]) == (invoice.total, "usd")
    assert intent["metadata"]["idempotency_key"] == tx.idempotency_key == f"renewal:{invoice.id}:0"
    assert intent["metadata"]["invoice_ids"] == str(invoice.id) and tx.gateway_reference == intent["id"]

    declining, _ = _save_card(stripe_app, localstripe, user, CARD_DECLINES_CHARGES)
    end_period_now(stripe_app, sub_id)
    assert "charges failed: 1" in billing_run(stripe_app)
    sub, invoices, txs = state(stripe_app, sub_id)
    assert sub.status == "past_due" and sub.next_retry_at is not None and sub.retry_count == 0
    assert [i.status for i in invoices] == ["paid", "open"]
    assert (txs[-1].status, txs[-1].failure_code) == ("failed", "card_declined")
    assert len(_intents(localstripe)) in (1, 2)  # localstripe keeps no intent for a 402 on create
    run_jobs()
    smtp_sink.wait_for(2)
    assert urlsplit(pay_link(smtp_sink, user.email)).path == f"/invoices/{invoices[1].id}/pay"


@pytest.fixture
def open_invoice(stripe_app, localstripe, stripe_client, user, shop):
    """A renewal declined on 0341: the subscription past_due, (its id, the open invoice)."""
    _save_card(stripe_app, localstripe, user, CARD_DECLINES_CHARGES)
    sub_id = due_subscription(stripe_app, user, shop["crm_team"])
    assert "charges failed: 1" in billing_run(stripe_app)
    _, [invoice], _ = state(stripe_app, sub_id)
    return sub_id, invoice


def _pay(client, localstripe, invoice, number: str | None):
    """The pay page, its card set up (POST /payment/card-setup) and confirmed in the "browser"
    (confirmCardSetup), then its form posted. Returns (response, the page's idempotency key, the form)."""
    html = client.get(f"/invoices/{invoice.id}/pay").get_data(as_text=True)
    setup_secret = client.post("/payment/card-setup").get_json()["client_secret"]
    if number:
        assert confirm_setup(localstripe, setup_secret, number)["status"] == "succeeded"
    key = hidden(html, "idempotency_key")
    data = {"idempotency_key": key, "setup_intent": setup_secret.split("_secret_")[0]}
    return client.post(f"/invoices/{invoice.id}/pay", data=data), key, data


def test_paying_the_open_invoice_with_stripe_posts_only_the_setup_intent_and_reactivates(
    stripe_app, localstripe, stripe_client, open_invoice
):
    sub_id, invoice = open_invoice
    html = stripe_client.get(f"/invoices/{invoice.id}/pay").get_data(as_text=True)
    assert 'name="card_number"' not in html and "data-stripe-card" in html and 'name="setup_intent"' in html
    response, _, data = _pay(stripe_client, localstripe, invoice, "4242424242424242")
    assert response.status_code == 303 and response.headers["Location"] == f"/invoices/{invoice.id}"

    sub, [invoice], txs = state(stripe_app, sub_id)
    assert sub.status == "active" and invoice.status == "paid"
    [paid] = [t for t in txs if t.purpose == "invoice"]
    intent = localstripe.api("GET", f"payment_intents/{paid.gateway_reference}")
    assert (intent["status"], intent["amount"], intent["metadata"]["invoice_ids"]) == (
        "succeeded",
        invoice.total,
        str(invoice.id),
    )
    with stripe_app.app_context():
        default = db.session.scalar(sa.select(PaymentMethod).where(PaymentMethod.is_default.is_(True)))
    assert intent["payment_method"] == default.token and default.last4 == "4242"
    assert stripe_client.post(f"/invoices/{invoice.id}/pay", data=data).status_code == 303  # replayed: once
    on_session = [i for i in _intents(localstripe) if i["metadata"]["idempotency_key"] == paid.idempotency_key]
    assert len(on_session) == 1


@pytest.mark.parametrize("authenticated", [True, False])
def test_a_card_that_needs_3d_secure_is_confirmed_in_the_browser_then_settled_once(
    stripe_app, localstripe, stripe_client, open_invoice, authenticated
):
    sub_id, invoice = open_invoice
    asked, key, form = _pay(stripe_client, localstripe, invoice, CARD_3DS)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 202 and "Your bank wants you to confirm this payment" in page
    assert hidden(page, "idempotency_key") == key
    sub, [invoice], _ = state(stripe_app, sub_id)
    assert sub.status == "past_due" and invoice.status == "open"  # nothing settled until the bank says so

    authenticate_payment(localstripe, _secret(page, "data-action-secret"), success=authenticated)
    # The browser sends the same form again (twice, say: a double click): settled once.
    answers = [stripe_client.post(f"/invoices/{invoice.id}/pay", data=form) for _ in range(2)]
    sub, [invoice], txs = state(stripe_app, sub_id)
    on_session = [t.status for t in txs if t.purpose == "invoice"]
    if authenticated:
        assert [a.status_code for a in answers] == [303, 303]
        assert answers[0].headers["Location"] == f"/invoices/{invoice.id}"
        assert (sub.status, invoice.status, on_session) == ("active", "paid", ["succeeded"])
    else:  # Stripe's message; the retry schedule is the renewal's, unchanged
        assert [a.status_code for a in answers] == [402, 402]
        assert (sub.status, sub.retry_count, invoice.status, on_session) == ("past_due", 0, "open", ["failed"])


def test_an_attempt_left_waiting_for_the_bank_is_offered_again_not_charged_twice(
    stripe_app, localstripe, stripe_client, open_invoice
):
    sub_id, invoice = open_invoice
    first, key, form = _pay(stripe_client, localstripe, invoice, CARD_3DS)
    first_secret = _secret(first.get_data(as_text=True), "data-action-secret")
    # The customer closed the tab, and comes back to the pay page with another card.
    again, _, _ = _pay(stripe_client, localstripe, invoice, "4242424242424242")
    page = again.get_data(as_text=True)
    assert again.status_code == 202 and _secret(page, "data-action-secret") == first_secret
    assert hidden(page, "idempotency_key") == key
    authenticate_payment(localstripe, first_secret)
    assert stripe_client.post(f"/invoices/{invoice.id}/pay", data=form).status_code == 303
    sub, [invoice], txs = state(stripe_app, sub_id)
    assert (sub.status, invoice.status) == ("active", "paid")
    assert [t.status for t in txs if t.purpose == "invoice"] == ["succeeded"]
    assert len([i for i in _intents(localstripe) if i["metadata"]["idempotency_key"].startswith("invoice:")]) == 1


def test_another_customers_setup_intent_is_refused_and_nothing_is_recorded(
    stripe_app, localstripe, stripe_client, open_invoice
):
    _, invoice = open_invoice
    with stripe_app.test_request_context():
        theirs = StripeGateway().create_setup(make_user(username="mallory"))
    confirm_setup(localstripe, theirs.client_secret, "4242424242424242")
    html = stripe_client.get(f"/invoices/{invoice.id}/pay").get_data(as_text=True)
    for setup_intent, message in (
        (theirs.id, "find that card"),
        ("seti_unknown", "find that card"),
        ("<script>", "find that card"),
        ("", "Enter your card details"),
    ):
        data = {"idempotency_key": hidden(html, "idempotency_key"), "setup_intent": setup_intent}
        response = stripe_client.post(f"/invoices/{invoice.id}/pay", data=data)
        assert response.status_code == 400, setup_intent
        assert message in response.get_data(as_text=True)
    with stripe_app.app_context():
        attempts = sa.select(sa.func.count()).select_from(Transaction).where(Transaction.purpose == "invoice")
        assert db.session.scalar(attempts) == 0
