"""Seats in Chromium: buy three seats of a per-seat plan from the cart, then add two from My subscriptions through
the preview, and see five seats on the card and on the proration invoice."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models.billing import Subscription
from tests.e2e.test_billing_journeys import add_to_cart, browser_sign_in, fill_card
from tests.support.checkout import catalog, ids, per_seat

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(app):
    """CRM Team at $49.00 a seat a month, 1 to 20 seats; the fee is 10 %."""
    with app.app_context():
        result = ids(catalog())
    per_seat(app, result["crm_team"], min_seats=1, max_seats=20)
    return result


def test_buy_three_seats_then_add_two_from_my_subscriptions_through_the_preview(
    app, live_server, page, user, shop, screenshot
):
    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/cart"))
    seats = page.get_by_label("Seats")
    expect(seats).to_have_attribute("max", "20")
    seats.fill("3")
    page.get_by_role("button", name="Update").click()
    expect(page.locator("#cart-body")).to_contain_text("3 seats × $49.00")
    expect(page.locator("#cart-body")).to_contain_text("$147.00")
    screenshot("seats-cart")

    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("heading", name="Review and pay").wait_for()
    expect(page.locator("table.order-table")).to_contain_text("3 seats × $49.00")
    fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile(r"^Pay \$161\.70")).click()  # 147.00 + 10 %
    page.wait_for_url(re.compile(r"/checkout/complete/"))

    page.goto(live_server.url("/subscriptions/"))
    card = page.locator("article.sub-card", has_text="Pipeline CRM")
    expect(card.locator("[data-seats]")).to_have_text("3")
    card.get_by_label("Seats").fill("5")
    card.get_by_role("button", name=re.compile("^Change seats")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Change Pipeline CRM from 3 to 5 seats")
    lines = page.locator("table.preview-lines")
    expect(lines).to_contain_text("Remaining time on Team × 5 seats")
    expect(lines).to_contain_text("Unused time on Team × 3 seats")
    due = page.locator("[data-amount='due-now']").inner_text()
    assert re.fullmatch(r"\$\d+\.\d\d", due), due
    screenshot("seats-preview")
    page.get_by_role("button", name=f"Pay {due} and switch").click()

    expect(page.get_by_role("status").first).to_contain_text("Pipeline CRM is now on Team × 5 seats.")
    card = page.locator("article.sub-card", has_text="Pipeline CRM")
    expect(card.locator("[data-seats]")).to_have_text("5")
    expect(card.locator(".sub-invoices")).to_contain_text(due)
    with app.app_context():
        assert db.session.scalars(sa.select(Subscription)).one().quantity == 5
    card.locator(".sub-invoices a.mono").first.click()
    expect(page.locator("body")).to_contain_text("Remaining time on Team × 5 seats")
    assert page.console_errors == [], page.console_errors
