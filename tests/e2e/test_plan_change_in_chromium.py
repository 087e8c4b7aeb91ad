"""A subscriber upgrades from My subscriptions by clicking: the plans, the preview with its proration lines,
the payment, then the new plan on their card and the proration invoice behind it."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Plan
from app.models.base import utcnow
from tests.factories import DEFAULT_PASSWORD, ProductFactory, SubscriptionFactory
from tests.support.browser import log_in
from tests.support.checkout import save_card
from tests.support.users import make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def subscription(app):
    """sam on Pipewise CRM Starter (monthly), 10 days into the period, with a card on file."""
    with app.app_context():
        ProductFactory(slug="pipewise-crm", name="Pipewise CRM", plans__tiers=(("Starter", 2900), ("Growth", 7900)))
        starter = db.session.scalar(sa.select(Plan).where(Plan.name == "Starter", Plan.billing_cycle == "monthly"))
        sam = make_user(username="sam", email="sam@example.com")
        start = utcnow().replace(microsecond=0) - timedelta(days=10)
        sub = SubscriptionFactory(
            user=sam, plan=starter, current_period_start=start, current_period_end=start + timedelta(days=30)
        )
        save_card(sam)
        db.session.commit()
        return str(sub.id)


def test_a_subscriber_upgrades_from_my_subscriptions_with_the_preview_and_gets_the_proration_invoice(
    live_server, page, subscription, screenshot
):
    log_in(page, live_server, "sam", DEFAULT_PASSWORD)
    page.get_by_role("link", name="Subscriptions", exact=True).first.click()
    card = page.locator(f"#sub-{subscription}")
    expect(card).to_contain_text("Starter plan")
    card.get_by_role("link", name="Change plan").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Change your Pipewise CRM plan")
    page.get_by_role("link", name="Switch to Growth (monthly)").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Switch Pipewise CRM from Starter to Growth")
    lines = page.locator("table.preview-lines")
    expect(lines).to_contain_text("Remaining time on Growth")
    expect(lines).to_contain_text("Unused time on Starter")
    expect(lines).to_contain_text("Amount due now")
    due = page.locator("[data-amount='due-now']").inner_text()
    assert re.fullmatch(r"\$\d+\.\d\d", due), due
    screenshot("plan-change-preview")
    assert page.console_errors == [], ("preview", page.console_errors)

    page.get_by_role("button", name=f"Pay {due} and switch").click()
    expect(page).to_have_url(re.compile(r"/subscriptions/(#sub-[0-9a-f-]+)?$"))
    expect(page.get_by_role("status").first).to_contain_text("Pipewise CRM is now on Growth.")
    card = page.locator(f"#sub-{subscription}")
    expect(card).to_contain_text("Growth plan")
    invoice_link = card.locator(".sub-invoices a.mono").first
    expect(card.locator(".sub-invoices")).to_contain_text(due)
    screenshot("plan-change-done")

    invoice_link.click()
    expect(page.locator("body")).to_contain_text("Remaining time on Growth")
    expect(page.locator("body")).to_contain_text("Unused time on Starter")
    expect(page.locator("body")).to_contain_text(due)
    assert page.console_errors == [], page.console_errors
