"""An admin creates a product with a checkout schema (checked live as typed) and two plans,
then finds it in the catalog."""

import re

import pytest
from playwright.sync_api import expect

from app.catalog.demo import seed_demo_catalog
from app.extensions import db
from tests.support.mfa import pass_second_step
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

SCHEMA_START = (
    '{\n  "type": "object",\n  "properties": {\n    "company_name": {"type": "string", "title": "Company name"'
)
SCHEMA_END = (
    ', "minLength": 2},\n    "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 500,'
    ' "default": 5},\n    "region": {"type": "string", "title": "Data region", "enum": ["eu", "us"]}\n  },\n'
    '  "required": ["company_name", "seats"]\n}'
)


@pytest.fixture
def admin(app):
    with app.app_context():
        seed_demo_catalog()
        db.session.commit()
        make_user(username="root", email="root@example.test", role="admin")


def sign_in(page, live_server):
    page.goto(live_server.url("/auth/login"))
    page.get_by_label("Email, username or phone").fill("root")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    pass_second_step(page)
    page.get_by_text("Welcome back, root.").wait_for()


def add_plan(page, name: str, cycle: str, price: str, discount: str, features: str):
    page.get_by_role("link", name="Add plan").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New plan")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Billing cycle").select_option(cycle)
    page.get_by_label("Price per cycle").fill(price)
    page.get_by_label("Discount (%)").fill(discount)
    page.get_by_label("Trial days").fill("14")
    page.get_by_label("Features").fill(features)
    page.get_by_role("button", name="Add plan").click()
    expect(page.locator(".alert-success")).to_contain_text(f"“{name}” is saved")


def test_admin_creates_a_product_with_a_live_checked_schema_and_two_plans(live_server, page, admin, screenshot):
    sign_in(page, live_server)
    page.goto(live_server.url("/admin/products"))
    expect(page.locator("#results tbody tr")).to_have_count(10)
    page.get_by_label("Category").select_option("Analytics")
    expect(page).to_have_url(re.compile(r"/admin/products\?.*category=Analytics"))
    expect(page.locator("#results tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Products", exact=True).last.click()  # the sidebar, back to everything
    expect(page.locator("#results tbody tr")).to_have_count(10)
    screenshot("admin-products")

    page.get_by_role("link", name="New product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New product")
    page.get_by_label("Name", exact=True).fill("Quasar Notes")
    page.get_by_label("Slug").fill("quasar-notes")
    page.get_by_label("Tagline").fill("Shared notebooks for teams that write things down")
    page.get_by_label("Category").fill("Productivity")
    page.get_by_label("Description").fill("Notebooks, pages and comments, searchable by everyone on the team.")
    editor = page.locator("#product_schema")
    editor.click()
    editor.press_sequentially(SCHEMA_START)  # half-typed: the check says what is wrong, where
    verdict = page.locator("#schema-preview .schema-verdict")
    expect(verdict).to_have_attribute("data-schema-verdict", "invalid")
    expect(page.locator(".schema-problems")).to_contain_text("Malformed JSON at line 4")
    editor.press_sequentially(SCHEMA_END)
    expect(verdict).to_have_attribute("data-schema-verdict", "valid")
    expect(page.get_by_label("Company name")).to_be_visible()
    expect(page.locator("#answer-seats")).to_have_value("5")
    expect(page.locator("#answer-region option")).to_have_count(3)  # optional: "—", eu, us
    screenshot("admin-product-editor")

    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quasar Notes")
    expect(page.locator(".alert-success")).to_contain_text("Now add its plans")
    add_plan(page, "Team", "monthly", "49.00", "0", "Seats: up to 10\nEmail support")
    add_plan(page, "Team", "yearly", "490.00", "10", "Seats: up to 10\nEmail support\nPriority support")
    rows = page.locator(".plans-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("$441.00")  # 490.00 less 10 %
    expect(rows.nth(1)).to_contain_text("−10%")
    screenshot("admin-product-plans")

    page.once("dialog", lambda dialog: dialog.dismiss())  # "Retire …?" — changed our mind
    page.get_by_role("button", name="Retire").first.click()
    expect(page.locator(".page-head .badge-success")).to_have_text("active")

    page.goto(live_server.url("/products/?q=quasar"))
    card = page.locator("#results .product-card", has_text="Quasar Notes")
    expect(card).to_contain_text("Productivity")
    card.get_by_role("link", name="Quasar Notes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quasar Notes")
    expect(page.locator("[data-plan-price]").first).to_contain_text("$49.00")
    assert page.console_errors == []
