"""Renewals with Stripe in Chromium, against localstripe: the saved card charged off-session, the card
switched to 0341 by typing into Stripe's element, the declined renewal's email, and its link followed
to pay the open invoice with 4242 typed into the element. No request to our app carries a card number."""

import re

import pytest
import sqlalchemy as sa

from app.billing.gateway.stripe import StripeGateway
from app.billing.services.payment_methods import save
from app.extensions import db
from app.models.billing import PaymentMethod
from app.models.user import User
from tests.e2e.test_billing_journeys import browser_sign_in
from tests.e2e.test_stripe_checkout_in_chromium import type_card
from tests.support.renewals import billing_run, catalog_ids, due_subscription, end_period_now, state
from tests.support.stripe_cards import saved_card

pytestmark = pytest.mark.e2e

NUMBERS = ("4242424242424242", "4000000000000341")


shop = pytest.fixture(catalog_ids, name="shop")


def test_a_declined_renewal_is_paid_from_the_emailed_link_with_a_card_typed_into_stripes_element(
    stripe_app, localstripe, live_server, page, user, shop, smtp_sink, run_jobs, screenshot
):
    localstripe.flush()
    sent_to_us: list[str] = []
    page.on(
        "request",
        lambda r: sent_to_us.append(f"{r.url} {r.post_data or ''}") if r.url.startswith(live_server.base) else None,
    )
    with stripe_app.test_request_context():
        buyer = db.session.get(User, user.id)
        first = save(buyer, saved_card(localstripe, buyer), holder_name="", gateway="stripe")
        db.session.commit()
        token, customer = first.token, StripeGateway().stored_customer(user.id)
    sub_id = due_subscription(stripe_app, user, shop["crm_team"])
    assert "charges succeeded: 1" in billing_run(stripe_app)
    [renewal] = localstripe.api("GET", "payment_intents", limit=10)["data"]
    _, [first_invoice], _ = state(stripe_app, sub_id)
    assert (renewal["customer"], renewal["payment_method"], renewal["amount"], renewal["status"]) == (
        customer,
        token,
        first_invoice.total,
        "succeeded",
    )

    # The customer switches their card for renewals to 0341, typing it into Stripe's element.
    browser_sign_in(stripe_app, page, live_server, user)
    page.goto(live_server.url("/subscriptions/"))
    page.get_by_role("link", name="Change card").click()
    page.wait_for_url(live_server.url("/payment-method"))
    type_card(page, "4000000000000341")
    page.get_by_role("button", name="Save card").click()
    page.get_by_text("Visa •••• 0341 will be used for renewals.").wait_for()
    with stripe_app.app_context():
        default = db.session.scalar(
            sa.select(PaymentMethod).where(PaymentMethod.user_id == user.id, PaymentMethod.is_default.is_(True))
        )
        assert (default.last4, default.gateway, default.token.startswith("pm_")) == ("0341", "stripe", True)

    end_period_now(stripe_app, sub_id)
    assert "charges failed: 1" in billing_run(stripe_app)
    sub, invoices, _ = state(stripe_app, sub_id)
    assert sub.status == "past_due" and invoices[-1].status == "open"
    run_jobs()
    smtp_sink.wait_for(2)
    [failed] = [m for m in smtp_sink.to(user.email) if "Payment failed" in str(m["Subject"])]

    # The email's link, clicked as a mail client shows it (a blank page: not under our pages' CSP).
    page.goto("about:blank")
    page.set_content(smtp_sink.html(failed))
    page.get_by_role("link", name=f"Pay {invoices[-1].number} now").click()
    page.wait_for_url(live_server.url(f"/invoices/{invoices[-1].id}/pay"))
    type_card(page, "4242424242424242")
    screenshot("stripe-pay-open-invoice")
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    page.get_by_text(f"{invoices[-1].number} is paid.").wait_for()
    assert page.url == live_server.url(f"/invoices/{invoices[-1].id}")

    sub, invoices, txs = state(stripe_app, sub_id)
    assert sub.status == "active" and [i.status for i in invoices] == ["paid", "paid"]
    [paid] = [t for t in txs if t.purpose == "invoice"]
    intent = localstripe.api("GET", f"payment_intents/{paid.gateway_reference}")
    assert (intent["status"], intent["amount"], intent["customer"]) == ("succeeded", invoices[-1].total, customer)
    assert not [r for r in sent_to_us if any(n in r for n in NUMBERS)]
    assert page.console_errors == [], page.console_errors


def test_a_card_needing_3d_secure_is_confirmed_in_stripes_prompts_and_pays_the_invoice(
    stripe_app, localstripe, live_server, page, user, shop
):
    localstripe.flush()
    with stripe_app.test_request_context():
        buyer = db.session.get(User, user.id)
        save(buyer, saved_card(localstripe, buyer, "4000000000000341"), holder_name="", gateway="stripe")
        db.session.commit()
    sub_id = due_subscription(stripe_app, user, shop["crm_team"])
    assert "charges failed: 1" in billing_run(stripe_app)
    _, [invoice], _ = state(stripe_app, sub_id)

    browser_sign_in(stripe_app, page, live_server, user)
    page.goto(live_server.url("/invoices/"))
    page.get_by_role("link", name=f"Pay now {invoice.number}").click()
    page.wait_for_url(live_server.url(f"/invoices/{invoice.id}/pay"))
    type_card(page, "4000002500003155")
    page.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    page.get_by_role("button", name="Complete authentication").click()  # the card's setup
    page.get_by_text("Your bank wants you to confirm this payment").wait_for()
    page.get_by_role("button", name="Complete authentication").click()  # the payment
    page.get_by_text(f"{invoice.number} is paid.").wait_for()

    sub, [invoice], txs = state(stripe_app, sub_id)
    assert (sub.status, invoice.status) == ("active", "paid")
    [paid] = [t for t in txs if t.purpose == "invoice"]
    assert localstripe.api("GET", f"payment_intents/{paid.gateway_reference}")["status"] == "succeeded"
    assert page.console_errors == [], page.console_errors
