"""A customer with credit checks out in Chromium and sees it applied: on the review page, the invoice, the list."""

import re

import pytest
import sqlalchemy as sa

from app.billing import credit
from app.extensions import db
from app.models.billing import Invoice
from tests.e2e.test_billing_journeys import add_to_cart, browser_sign_in, fill_card
from tests.support.checkout import catalog, ids

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(app):
    with app.app_context():
        return ids(catalog())


@pytest.fixture
def gateway(app):
    from app.billing.gateway.sandbox import SandboxGateway

    return SandboxGateway(app.extensions["redis"])


def _give(app, user_id, amount):
    with app.app_context():
        credit.add_credit(user_id, "USD", amount, "adjustment", reason="Goodwill for the outage")
        db.session.commit()


def test_credit_that_covers_the_order_pays_it_without_a_card_and_shows_on_the_invoice(
    app, live_server, page, user, shop, gateway, screenshot
):
    _give(app, user.id, 6000)
    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/cart"))
    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("heading", name="Review and pay").wait_for()
    summary = page.locator("aside.summary")
    assert "Paid from credit balance" in summary.inner_text() and "−$53.90" in summary.inner_text()
    assert page.get_by_text("Your credit balance pays this order in full").is_visible()
    assert page.get_by_label("Card number").count() == 0
    screenshot("credit-review-covered")
    page.get_by_role("button", name="Pay with credit").click()
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    assert gateway.charges() == []
    page.goto(live_server.url("/invoices/"))
    balance = page.locator("section.credit-balance")
    assert "$6.10 USD" in balance.inner_text() and "Applied at checkout" in balance.inner_text()
    with app.app_context():
        number = db.session.scalar(sa.select(Invoice.number).where(Invoice.user_id == user.id))
    page.get_by_role("link", name=number).click()
    row = page.locator("tr.credit-applied")
    row.wait_for()
    assert "Paid from credit balance" in row.inner_text() and "−$53.90" in row.inner_text()
    assert page.console_errors == []


def test_credit_that_covers_part_of_the_order_leaves_the_rest_for_the_card(
    app, live_server, page, user, shop, gateway, screenshot
):
    _give(app, user.id, 1000)
    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/checkout"))
    page.get_by_role("heading", name="Review and pay").wait_for()
    assert "−$10.00" in page.locator("aside.summary").inner_text()
    fill_card(page, "4242 4242 4242 4242")
    screenshot("credit-review-partly")
    page.get_by_role("button", name=re.compile(r"^Pay \$43\.90")).click()
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    assert [c["amount"] for c in gateway.charges()] == [4390]
    page.goto(live_server.url("/invoices/"))
    assert "You have no credit." in page.locator("section.credit-balance").inner_text()
    assert page.console_errors == []
