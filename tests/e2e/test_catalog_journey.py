"""A visitor searches the demo catalog, filters it, compares a product's plans and comes back with Back."""

import re

import pytest
from playwright.sync_api import expect

from app.catalog.demo import seed_demo_catalog
from app.extensions import db
from tests.factories import ProductFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo_catalog()
        db.session.commit()


def card_names(page):
    return page.locator("#results .product-card h3").all_inner_texts()


def plan_prices(page):
    return page.locator("[data-plan-price]").all_inner_texts()


def test_search_filter_compare_and_come_back_to_the_same_list(live_server, page, demo, screenshot):
    page.goto(live_server.url("/products/"))
    expect(page.locator("#results .product-card")).to_have_count(10)
    screenshot("catalog")

    page.locator("#catalog-q").press_sequentially("analytics", delay=20)  # debounced: one search when typing stops
    expect(page).to_have_url(re.compile(r"/products/\?q=analytics$"))
    expect(page.locator("[data-results-count]")).to_contain_text("for “analytics”")
    assert set(card_names(page)) >= {"Lumen Analytics", "Quarry BI"}

    page.locator(".filter-option", has_text="Analytics").click()
    expect(page).to_have_url(re.compile(r"q=analytics&category=Analytics$"))
    page.locator(".segmented label").get_by_text("Yearly", exact=True).click()
    expect(page).to_have_url(re.compile(r"q=analytics&category=Analytics&cycle=yearly$"))
    expect(page.locator("#results .product-card")).to_have_count(2)
    expect(page.locator("#results .product-card").first).to_contain_text("/ year")
    filtered_url = page.url
    screenshot("catalog-filtered")

    page.get_by_role("link", name="Lumen Analytics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen Analytics")
    expect(page).to_have_url(re.compile(r"/products/lumen-analytics\?cycle=yearly$"))
    yearly = plan_prices(page)
    expect(page.locator(".cycle-toggle [aria-current=true]")).to_contain_text("Yearly")
    expect(page.locator(".plan-meta").first).to_contain_text("Save")
    screenshot("product")

    page.locator(".cycle-toggle a[href$='cycle=monthly']").click()
    expect(page.locator(".cycle-toggle [aria-current=true]")).to_contain_text("Monthly")
    expect(page).to_have_url(re.compile(r"cycle=monthly$"))  # replaced, so Back still leads to the list
    monthly = plan_prices(page)
    assert monthly != yearly and len(monthly) == len(yearly) == 3
    page.locator(".cycle-toggle a[href$='cycle=quarterly']").click()
    expect(page.locator("[data-plan-price]").first).not_to_have_text(monthly[0])

    page.go_back()
    expect(page).to_have_url(filtered_url)
    expect(page.locator("#catalog-q")).to_have_value("analytics")
    expect(page.locator("input[name=category][value=Analytics]")).to_be_checked()
    expect(page.locator("input[name=cycle][value=yearly]")).to_be_checked()
    assert card_names(page) == ["Lumen Analytics", "Quarry BI"]
    assert page.console_errors == []


def test_clearing_filters_from_an_empty_result(live_server, page, demo):
    page.goto(live_server.url("/products/?q=spaceship&category=CRM"))
    expect(page.get_by_role("heading", name="No products match")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page).to_have_url(re.compile(r"/products/$"))
    expect(page.locator("#results .product-card")).to_have_count(10)
    expect(page.locator("#catalog-q")).to_have_value("")
    assert page.console_errors == []


def test_dark_mode_catalog_and_product_page(live_server, page, demo, screenshot):
    page.emulate_media(color_scheme="dark")
    page.goto(live_server.url("/products/"))
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 27)"
    screenshot("catalog-dark")
    page.goto(live_server.url("/products/beacon-desk?cycle=yearly"))
    expect(page.locator("[data-plan-price]")).to_have_count(3)
    screenshot("product-dark")
    page.goto(live_server.url("/"))
    expect(page.get_by_role("heading", name="Featured products")).to_be_visible()
    screenshot("home-featured-dark")
    assert page.console_errors == []


def test_catalog_works_without_javascript(live_server, browser, demo):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url("/products/"))
        expect(page.get_by_role("button", name="Apply filters")).to_be_visible()
        page.fill("#catalog-q", "chat")
        page.locator("input[name=cycle][value=weekly]").check(force=True)
        page.get_by_role("button", name="Apply filters").click()
        expect(page).to_have_url(re.compile(r"q=chat.*cycle=weekly"))
        expect(page.locator("#results .product-card")).to_have_count(1)
        page.get_by_role("link", name="Kindly Chat").click()
        expect(page).to_have_url(re.compile(r"/products/kindly-chat\?cycle=weekly$"))
        page.locator('.cycle-toggle a[href$="cycle=yearly"]').click()
        expect(page).to_have_url(re.compile(r"cycle=yearly$"))
        expect(page.locator(".plan-meta").first).to_contain_text("Save")
    finally:
        context.close()


def test_typing_a_search_updates_the_category_counts_in_the_browser(app, live_server, page):
    with app.app_context():
        ProductFactory(
            slug="pipewise-crm", name="Pipewise CRM", category="CRM", tagline="The sales pipeline", plans=True
        )
        ProductFactory(
            slug="beacon-desk", name="Beacon Desk", category="Helpdesk", tagline="A calm shared inbox", plans=True
        )
    page.goto(live_server.url("/"))
    page.get_by_role("link", name="Products", exact=True).first.click()
    helpdesk = page.locator(".filter-option", has_text="Helpdesk").locator(".count")
    expect(helpdesk).to_have_text("1")
    page.locator("#catalog-q").press_sequentially("pipeline", delay=20)
    expect(page.locator("[data-results-count]")).to_contain_text("for “pipeline”")
    expect(helpdesk).to_have_text("0")
    expect(page.locator(".filter-option", has_text="All categories").locator(".count")).to_have_text("1")
    page.locator(".filter-option", has_text="Helpdesk").click()  # still offered, and picking it shows why: nothing
    expect(page.get_by_role("heading", name="No products match")).to_be_visible()
