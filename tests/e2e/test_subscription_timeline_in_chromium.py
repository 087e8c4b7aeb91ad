"""A customer clicks from My subscriptions to one subscription's page: the upcoming invoice and the timeline
(an ordered list under its heading) read at desktop and phone width in both themes, with no axe finding."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models.billing import Subscription
from tests.factories import DEFAULT_PASSWORD
from tests.support.a11y import everywhere
from tests.support.browser import log_in
from tests.support.checkout import add_to_cart, catalog, ids, pay
from tests.support.users import make_user, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def subscribed(app):
    """Sam bought the CRM's Team plan at checkout, turned auto-renew off and on again (the real routes)."""
    client = app.test_client()
    with app.app_context():
        shop = ids(catalog())
        sign_in(client, make_user(username="sam", email="sam@example.com"))
    add_to_cart(client, shop["crm_team"])
    assert pay(client).status_code == 303
    with app.app_context():
        sub_id = db.session.scalar(sa.select(Subscription.id))
    for value in ("off", "on"):
        assert client.post(f"/subscriptions/{sub_id}/auto-renew", data={"auto_renew": value}).status_code == 303
    return str(sub_id)


def test_from_my_subscriptions_to_the_timeline_and_upcoming_invoice(live_server, page, subscribed, screenshot):
    log_in(page, live_server, "sam", DEFAULT_PASSWORD)
    page.get_by_role("link", name="Subscriptions", exact=True).first.click()
    page.get_by_role("link", name="Timeline and upcoming invoice of Pipeline CRM").click()
    expect(page).to_have_url(re.compile(rf"/subscriptions/{subscribed}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline CRM")

    upcoming = page.get_by_role("region", name="Upcoming invoice")
    expect(upcoming.get_by_role("heading", level=2)).to_have_text("Upcoming invoice")
    expect(upcoming.locator("[data-upcoming-total]")).to_have_text("$53.90")
    timeline = page.get_by_role("region", name="Timeline")
    items = timeline.get_by_role("list").get_by_role("listitem")
    expect(items).to_have_count(5)  # auto-renew on, off, invoice paid, issued, subscribed: newest first
    expect(items.first.get_by_role("heading", level=3)).to_have_text("Auto-renew turned on")
    expect(items.last.get_by_role("heading", level=3)).to_have_text("Subscribed")
    assert page.evaluate("document.querySelector('.timeline').tagName") == "OL"

    screenshot("subscription-timeline")
    problems = everywhere(page, "customer", "subscription-timeline", "/subscriptions/<id>")
    assert problems == [], problems
    assert page.console_errors == [], page.console_errors

    items.nth(2).get_by_role("link", name=re.compile(r"INV-\d{4}-\d{6}")).click()
    expect(page).to_have_url(re.compile(r"/invoices/"))
    assert page.console_errors == [], page.console_errors
