"""An admin refunds part of a Stripe-paid invoice from its page in Chromium, then the rest, against localstripe."""

import re

import pytest
from playwright.sync_api import expect

from tests.stripe.test_refunds import paid_at_stripe
from tests.support.browser import log_in
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


def test_an_admin_refunds_part_then_the_rest_of_a_stripe_payment_in_the_browser(
    stripe_app, localstripe, live_server, page, screenshot
):
    localstripe.flush()
    with stripe_app.test_request_context():
        paid = paid_at_stripe(localstripe)
        make_user(username="root", role="admin")
    log_in(page, live_server, "root", DEFAULT_PASSWORD)
    page.goto(live_server.url(f"/admin/invoices/{paid['invoice']}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {paid['number']}")
    remaining = page.locator("[data-refund-summary]").last
    expect(remaining).to_have_text("$53.90")
    amount = page.get_by_label("Amount to refund")
    expect(amount).to_have_value("53.90")  # all that is left, to start with

    # A typo is refused beside the field, nothing sent.
    amount.fill("5.005")
    page.get_by_label("Refund reason").fill("Two seats unused this month")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Refund").click()
    expect(page.locator("#amount-error")).to_have_text("USD amounts have at most 2 decimal places.")

    page.get_by_label("Amount to refund").fill("5.00")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Refund").click()
    notice = page.locator(".alert-success")
    expect(notice).to_contain_text("Refunded: $5.00, credit note CN-")
    first_note = re.search(r"CN-\d{4}-\d{6}", notice.inner_text()).group(0)
    expect(remaining).to_have_text("$48.90")
    expect(page.locator(".plain-list")).to_contain_text(first_note)
    screenshot("admin-stripe-partial-refund")
    assert [r["amount"] for r in localstripe.api("GET", "refunds", payment_intent=paid["pi"])["data"]] == [500]

    expect(page.get_by_label("Amount to refund")).to_have_value("48.90")
    page.get_by_label("Refund reason").fill("Cancelled, goodwill")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Refund").click()
    expect(page.locator(".alert-success")).to_contain_text("Refunded: $48.90")
    expect(page.get_by_text("No action available: refunded in full.")).to_be_visible()
    expect(page.get_by_label("Amount to refund")).to_have_count(0)
    refunds = localstripe.api("GET", "refunds", payment_intent=paid["pi"])["data"]
    assert sorted(r["amount"] for r in refunds) == [500, 4890]
    # The one console line is the typo's 400 (Chromium logs every 4xx answer); no script or CSP error.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
