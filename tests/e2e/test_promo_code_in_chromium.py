"""A promo code at checkout in Chromium: a wrong code explained beside the field, the right one applied in
place (the discount line, the new total), paid with the sandbox card, and the discount on the invoice."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.billing import coupons
from app.billing.coupons import CouponValues
from app.extensions import db
from app.models.billing import Invoice
from tests.e2e.test_billing_journeys import add_to_cart, browser_sign_in, fill_card
from tests.support.checkout import catalog, ids

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(app):
    with app.app_context():
        result = ids(catalog())
        coupons.create(CouponValues(code="SAVE20", duration="once", percent_off=Decimal(20)), actor_id=None)
        return result


def test_apply_a_promo_code_at_checkout_then_pay_and_see_the_discount_on_the_invoice(
    app, live_server, page, user, shop, screenshot
):
    from app.billing.gateway.sandbox import SandboxGateway

    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/checkout"))
    page.get_by_role("heading", name="Review and pay").wait_for()
    summary = page.locator("#checkout-total")
    assert "$53.90" in summary.inner_text()
    page.get_by_role("textbox", name="Promo code").fill("NOPE")
    page.get_by_role("button", name="Apply").click()
    page.locator("#promo_code-error").wait_for()
    assert page.locator("#promo_code-error").inner_text() == coupons.UNKNOWN
    assert "$53.90" in summary.inner_text()  # nothing changed
    page.get_by_role("textbox", name="Promo code").fill("save20")
    page.get_by_role("button", name="Apply").click()
    page.locator("#promo-message").wait_for()
    assert "Promo code SAVE20 applied" in page.locator("#promo-message").inner_text()
    assert page.url.endswith("/checkout")  # applied in place: no page load
    order = page.locator("table.order-table")
    assert "Promo code SAVE20 (20% off)" in order.inner_text() and "−$9.80" in order.inner_text()
    assert "$43.12" in summary.inner_text()
    fill_card(page, "4242 4242 4242 4242")
    screenshot("checkout-promo-code")
    page.get_by_role("button", name=re.compile(r"^Pay \$43\.12")).click()
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    assert [c["amount"] for c in SandboxGateway(app.extensions["redis"]).charges()] == [4312]
    with app.app_context():
        number = db.session.scalar(sa.select(Invoice.number))
    page.get_by_role("link", name=number).click()
    page.get_by_role("heading", name=f"Invoice {number}").wait_for()
    sheet = page.inner_text("main")
    assert "Promo code SAVE20 (20% off)" in sheet and "$43.12" in sheet
    screenshot("invoice-with-promo-code")
    # The refused code's answer is a 400 (Chromium logs every 4xx): nothing else went wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
