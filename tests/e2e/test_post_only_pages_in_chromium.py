"""The pages only a POST reaches (the accessibility sweep follows links, so it never sees them), and the
catalog reached by boosted clicks, as a customer clicks through them in Chromium.

On each page: axe-core finds no serious or critical violation, nothing scrolls sideways at 390 px, and
screenshots land in tests/artifacts/pages/ at both widths in both themes (tests/support/a11y.py).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.catalog.demo import seed_demo_catalog
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice
from app.models.user import User
from tests.factories import SubscriptionFactory
from tests.support.a11y import everywhere
from tests.support.browser import ARTIFACTS, LiveServer, log_in
from tests.support.checkout import SCHEMA, catalog, ids
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(csrf_app):
    server = LiveServer(csrf_app).start()
    yield server
    server.stop()


@pytest.fixture
def shop(csrf_app):
    """The CRM (questions before a trial) and Analytics; Ada had an Analytics trial that ran out."""
    with csrf_app.app_context():
        rows = catalog()
        rows["crm"].product_schema = SCHEMA
        ada = make_user(username="ada", email="ada@example.test")
        ended = utcnow() - timedelta(days=3)
        SubscriptionFactory(
            user_id=ada.id,
            plan=rows["analytics_yearly"],
            status="expired",
            started_at=ended - timedelta(days=14),
            trial_end=ended,
            ended_at=ended,
        )
        db.session.commit()
        return ids(rows) | {"ada": ada.id}


def _assert_clean(problems: list[dict], name: str) -> None:
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(problems, indent=1))
    assert not problems, "\n".join(f"{p['where']}: {p['id']} ({p['help']}) {p.get('nodes', '')}" for p in problems)


def _console_errors(page) -> list[str]:
    """What the console logged as errors, but for Chromium's line about a form answered 4xx (a refusal shown)."""
    return [e for e in page.console_errors if not re.search(r"status of 4\d\d", e)]


def _open_product(page, name: str) -> None:
    page.locator(".nav-links").get_by_role("link", name="Products").click()
    page.wait_for_url(re.compile(r"/products/$"))
    page.locator("#results").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def _plan_column(page, plan: str):
    return page.locator("th.plan-col", has=page.locator(".plan-name", has_text=re.compile(rf"^{plan}$")))


def _fill_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("Security code").fill("123")
    page.get_by_label("Name on card").fill("Ada Lovelace")


def test_cart_checkout_a_bad_card_and_the_complete_page(csrf_app, served, page, shop):
    problems: list[dict] = []
    log_in(page, served, "ada", DEFAULT_PASSWORD)
    _open_product(page, "Pipeline CRM")
    _plan_column(page, "Team").get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    _open_product(page, "Insight Analytics")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    expect(page.locator(".cart-line")).to_have_count(2)
    problems += everywhere(page, "customer", "cart-two-products", "/cart")

    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("heading", name="Review and pay").wait_for()
    problems += everywhere(page, "customer", "checkout", "/checkout")

    # Billing details typed here (the profile has none yet), the CRM's question, and a mistyped card.
    page.get_by_role("textbox", name="Company (optional)").fill("Analytical Engines Ltd")
    page.get_by_label("Address line 1").fill("12 Analytical Row")
    page.get_by_label("City").fill("London")
    page.get_by_label("Postal code").fill("N1 9GU")
    page.get_by_label("Country").fill("United Kingdom")
    page.get_by_label("Company name").fill("Analytical Engines")
    _fill_card(page, "4242 4242 4242 4241")
    page.get_by_role("button", name=re.compile(r"^Pay \$517\.22")).click()
    expect(page.locator("#card_number-error")).to_contain_text("isn't valid")
    expect(page.get_by_role("textbox", name="Company (optional)")).to_have_value("Analytical Engines Ltd")  # kept
    problems += everywhere(page, "customer", "checkout-bad-card", "/checkout (bad card)")

    _fill_card(page, "4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile(r"^Pay \$517\.22")).click()
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    expect(page.get_by_role("heading", name="Payment received. Thank you!")).to_be_visible()
    problems += everywhere(page, "customer", "checkout-complete", "/checkout/complete")
    with csrf_app.app_context():
        bills = [i.bill_to for i in db.session.scalars(sa.select(Invoice))]
        ada = db.session.get(User, shop["ada"])
        assert len(bills) == 2 and {b["company"] for b in bills} == {"Analytical Engines Ltd"}
        assert ada.company == "Analytical Engines Ltd" and ada.address["postal_code"] == "N1 9GU"
    assert _console_errors(page) == []
    _assert_clean(problems, "post-only-checkout")


def test_the_trial_pages_and_a_refused_trial_that_a_reload_shows_again(served, page, shop):
    problems: list[dict] = []
    log_in(page, served, "ada", DEFAULT_PASSWORD)
    _open_product(page, "Pipeline CRM")
    _plan_column(page, "Team").get_by_role("button", name=re.compile(r"free trial")).click()
    page.get_by_role("heading", name="Start your Pipeline CRM trial").wait_for()
    assert "/subscriptions/trial?plan_id=" in page.url  # a GET page: the address bar never holds the POST
    problems += everywhere(page, "customer", "trial-questions", "/subscriptions/trial")

    page.get_by_label("Company name").fill("A")
    page.get_by_role("button", name="Start free trial").click()
    expect(page.locator(".field-error").first).to_contain_text("at least 2 characters")
    assert "/subscriptions/trial?plan_id=" in page.url
    problems += everywhere(page, "customer", "trial-questions-error", "/subscriptions/trial (error)")
    page.reload()  # a GET of the questions, not a 405
    page.get_by_role("heading", name="Start your Pipeline CRM trial").wait_for()

    page.get_by_label("Company name").fill("Analytical Engines")
    page.get_by_role("button", name="Start free trial").click()
    page.wait_for_url(re.compile(r"/subscriptions/$"))
    expect(page.locator(".alert-success", has_text="Your Pipeline CRM trial has started")).to_be_visible()
    problems += everywhere(page, "customer", "trial-started", "/subscriptions/ (trial started)")

    # Analytics: Ada's trial ran out, so there is no second one; the refusal is a page of its own.
    _open_product(page, "Insight Analytics")
    page.get_by_role("button", name=re.compile(r"free trial")).click()
    page.get_by_role("heading", name="No new trial for Insight Analytics").wait_for()
    assert "/subscriptions/trial?plan_id=" in page.url
    problems += everywhere(page, "customer", "trial-refused", "/subscriptions/trial (refused)")
    page.reload()
    expect(page.get_by_text("You already had your free trial of Insight Analytics")).to_be_visible()
    assert _console_errors(page) == []
    _assert_clean(problems, "post-only-trial")


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo_catalog()
        db.session.commit()


def test_the_catalog_reached_by_boosted_clicks_logs_no_console_error(live_server, page, demo):
    """Home → catalog → a filter → a product → Back: a boosted full page carries no out-of-band swaps
    (their targets are not on the page it swaps into: htmx:oobErrorNoTarget)."""
    page.goto(live_server.url("/"))
    page.locator(".nav-links").get_by_role("link", name="Products").click()
    page.wait_for_url(re.compile(r"/products/$"))
    expect(page.locator("#results .product-card").first).to_be_visible()
    page.locator(".filter-option", has_text="Analytics").click()
    expect(page).to_have_url(re.compile(r"category=Analytics$"))
    expect(page.locator("[data-results-count]")).to_contain_text("in Analytics")
    page.locator("#results .product-card h3 a").first.click()
    page.locator(".compare").wait_for()
    page.go_back()
    expect(page).to_have_url(re.compile(r"category=Analytics$"))
    expect(page.locator("#results .product-card").first).to_be_visible()
    page.wait_for_timeout(300)  # an error logged by the last swap
    assert page.console_errors == []
