"""A subscriber clicks from the catalog to a product they subscribe to: their plan is marked, and
"Manage subscription" leads to that subscription's card, with no POST URL ever in the address bar."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Plan
from tests.factories import DEFAULT_PASSWORD, ProductFactory, SubscriptionFactory
from tests.support.browser import log_in
from tests.support.users import make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def subscription(app):
    with app.app_context():
        ProductFactory(slug="pipewise-crm", name="Pipewise CRM", plans__tiers=(("Starter", 2900), ("Growth", 7900)))
        growth = db.session.scalar(sa.select(Plan).where(Plan.name == "Growth", Plan.billing_cycle == "monthly"))
        sub = SubscriptionFactory(user=make_user(username="sam", email="sam@example.com"), plan=growth)
        db.session.commit()
        return str(sub.id)


def test_a_subscriber_finds_their_plan_marked_and_manages_it_from_the_product_page(
    live_server, page, subscription, screenshot
):
    log_in(page, live_server, "sam", DEFAULT_PASSWORD)
    page.goto(live_server.url("/products/"))
    expect(page.locator("#results .product-card")).to_have_count(1)
    page.locator("#results").get_by_role("link", name="Pipewise CRM").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipewise CRM")

    growth = page.locator("th.plan-col", has_text="Growth")
    expect(growth).to_contain_text("Your plan")
    expect(page.locator("th.plan-col", has_text="Starter")).not_to_contain_text("Your plan")
    expect(page.get_by_role("button", name=re.compile("free trial|Add to cart"))).to_have_count(0)
    expect(page.locator("[data-subscriber-note]")).to_have_text("You subscribe to Growth. Manage it on Subscriptions.")
    screenshot("product-subscriber")
    assert page.console_errors == [], ("product", page.console_errors)

    growth.get_by_role("link", name="Manage subscription").click()
    expect(page).to_have_url(re.compile(rf"/subscriptions/#sub-{subscription}$"))
    expect(page.locator(f"#sub-{subscription}")).to_contain_text("Pipewise CRM")
    assert page.console_errors == [], ("subs", page.console_errors)
    page.reload()  # a GET page: reloading never meets a 405
    expect(page.locator(f"#sub-{subscription}")).to_be_visible()
    assert page.console_errors == [], page.console_errors


def test_a_subscriber_cancels_at_period_end_then_keeps_it_and_the_card_shows_one_state(
    live_server, page, subscription, screenshot
):
    log_in(page, live_server, "sam", DEFAULT_PASSWORD)
    page.get_by_role("link", name="Subscriptions", exact=True).first.click()
    card = page.locator(f"#sub-{subscription}")
    expect(card.get_by_role("switch", name="Auto-renew")).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    card.locator("summary", has_text="Cancel…").click()
    card.get_by_role("button", name=re.compile("Cancel at period end")).click()
    expect(card.get_by_role("status")).to_contain_text("Pipewise CRM will end on")
    expect(card).to_contain_text("Ends on")
    expect(card).to_contain_text("Auto-renew off")
    expect(card.get_by_role("switch")).to_have_count(0)
    screenshot("subscription-ending")

    card.get_by_role("button", name="Keep my subscription").click()
    expect(card.get_by_role("status")).to_contain_text("Pipewise CRM is resumed. It renews on")
    expect(card.get_by_role("switch", name="Auto-renew")).to_have_attribute("aria-checked", "true")
    expect(card).not_to_contain_text("Ends on")
    assert "/resume" not in page.url and "/cancel" not in page.url
    assert page.console_errors == [], page.console_errors
