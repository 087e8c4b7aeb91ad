"""Checkout with Stripe in Chromium: the card typed into localstripe's card element (its fake Stripe.js renders
five plain inputs: number, exp_month, exp_year, cvc, postal_code), confirmed at Stripe, never sent to us."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, PaymentMethod, Transaction
from app.models.checkout import CheckoutAttempt
from tests.e2e.test_billing_journeys import add_to_cart, browser_sign_in
from tests.support.a11y import everywhere
from tests.support.checkout import catalog, ids

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(stripe_app, localstripe):
    localstripe.flush()  # a test without stripe_app may have left objects there
    with stripe_app.app_context():
        return ids(catalog())


@pytest.fixture
def at_checkout(stripe_app, live_server, page, user, shop):
    """Signed in, one plan in the cart, on the review page reached by a boosted link from the cart."""
    browser_sign_in(stripe_app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/cart"))
    page.evaluate("window.sameDocument = true")
    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("heading", name="Review and pay").wait_for()
    page.locator("[data-card-element] input").first.wait_for()
    assert page.evaluate("window.sameDocument === true")  # a boosted navigation: the element mounted all the same
    return page


def type_card(page, number: str) -> None:
    page.get_by_label("Name on card").fill("Ada Lovelace")
    element = page.locator("[data-card-element]")
    for placeholder, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "10001"),
    ):
        element.locator(f'input[placeholder="{placeholder}"]').press_sequentially(value)


def sent_to_us(page, live_server) -> list[tuple[str, str]]:
    """Every request the page sends to our app, from now on: (url, body)."""
    sent: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: sent.append((r.url, r.post_data or "")) if r.url.startswith(live_server.base) else None,
    )
    return sent


def _pay(page):
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def test_a_card_typed_into_the_stripe_element_pays_the_invoice_and_never_reaches_our_server(
    stripe_app, at_checkout, live_server, localstripe, screenshot
):
    page = at_checkout
    assert page.locator('input[name="card_number"]').count() == 0
    sent = sent_to_us(page, live_server)
    type_card(page, "4242424242424242")
    screenshot("stripe-checkout")
    _pay(page)
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    assert page.get_by_role("heading", name="Payment received. Thank you!").is_visible()
    assert any(url.endswith("/checkout") and "setup_intent=seti_" in body for url, body in sent)
    assert [url for url, body in sent if "4242424242424242" in url + body] == []
    assert [url for url, body in sent if "4242" in body.replace("%20", "")] == []
    with stripe_app.app_context():
        [invoice] = db.session.scalars(sa.select(Invoice)).all()
        attempt = db.session.scalar(sa.select(CheckoutAttempt))
        assert invoice.status == "paid"
    [intent] = localstripe.api("GET", "payment_intents")["data"]
    assert intent["status"] == "succeeded"
    assert intent["amount"] == invoice.total and intent["currency"] == invoice.currency.lower()
    assert intent["metadata"]["attempt_id"] == str(attempt.id)
    assert intent["metadata"]["invoice_ids"] == str(invoice.id)
    assert page.console_errors == []


def test_a_declined_card_shows_stripes_message_by_the_card_and_nothing_is_posted_or_paid(
    stripe_app, at_checkout, live_server, localstripe
):
    page = at_checkout
    sent = sent_to_us(page, live_server)
    type_card(page, "4000000000000002")
    _pay(page)
    error = page.locator("#card-error")
    error.wait_for()
    assert error.inner_text() == "Your card was declined."
    assert page.evaluate("document.activeElement.id") == "card-error"
    assert page.locator("[data-card-error]").get_attribute("aria-live") == "polite"
    assert [url for url, _ in sent if url.endswith("/checkout")] == []
    assert page.get_by_role("button", name=re.compile(r"^Pay ")).get_attribute("aria-busy") is None
    with stripe_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckoutAttempt)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 0
    assert localstripe.api("GET", "payment_intents")["data"] == []


def test_a_card_needing_3d_secure_is_confirmed_in_localstripes_prompt_and_the_order_completes(
    stripe_app, at_checkout, live_server, localstripe, screenshot
):
    page = at_checkout
    type_card(page, "4000002500003155")
    _pay(page)
    # Once to save the card (confirmCardSetup), once for this payment (confirmCardPayment).
    page.get_by_role("button", name="Complete authentication").click()
    page.get_by_text("Your bank wants you to confirm this payment").wait_for()
    screenshot("stripe-3ds-prompt")
    page.get_by_role("button", name="Complete authentication").click()
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    with stripe_app.app_context():
        assert [i.status for i in db.session.scalars(sa.select(Invoice))] == ["paid"]
    assert [pi["status"] for pi in localstripe.api("GET", "payment_intents")["data"]] == ["succeeded"]


def test_the_card_element_page_passes_the_shared_accessibility_check(at_checkout):
    page = at_checkout
    type_card(page, "4000000000000002")
    _pay(page)
    page.locator("#card-error").wait_for()  # with Stripe's message shown, as a customer may see it
    assert everywhere(page, "customer", "stripe-checkout", "/checkout") == []


def test_the_card_for_renewals_is_replaced_through_the_same_card_element(
    stripe_app, live_server, page, user, localstripe
):
    localstripe.flush()
    browser_sign_in(stripe_app, page, live_server, user)
    page.goto(live_server.url("/payment-method"))
    page.locator("[data-card-element] input").first.wait_for()
    type_card(page, "4242424242424242")
    page.get_by_role("button", name="Save card").click()
    page.wait_for_url(re.compile(r"/subscriptions/$"))
    assert page.get_by_text("Visa •••• 4242 will be used for renewals.").is_visible()
    with stripe_app.app_context():
        method = db.session.scalar(sa.select(PaymentMethod))
        assert (method.gateway, method.last4, method.holder_name) == ("stripe", "4242", "Ada Lovelace")
    assert localstripe.api("GET", f"payment_methods/{method.token}")["customer"]
