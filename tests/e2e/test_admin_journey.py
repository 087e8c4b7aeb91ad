"""The operator's day in Chromium: an admin made with `flask create-admin` signs in, adds a product with a schema
and two plans, finds it in the catalog, changes the platform fee, refunds a paid invoice and finds the credit note
and the audit entries."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_products import SCHEMA_END, SCHEMA_START, add_plan
from tests.support.checkout import add_to_cart, catalog, ids, pay
from tests.support.mfa import enroll_from_page
from tests.support.users import make_user, sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def paid_invoice(app):
    """A customer who bought Pipeline CRM (monthly) and Insight Analytics (yearly) with card 4242."""
    client = app.test_client()
    with app.app_context():
        shop = ids(catalog())
        sign_in(client, make_user(username="grace", email="grace@example.test"))
    add_to_cart(client, shop["crm_team"])
    add_to_cart(client, shop["analytics_yearly"])
    assert pay(client).status_code == 303


def test_an_admin_runs_the_business_from_the_browser(app, live_server, page, screenshot, paid_invoice):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "owner@example.com", "--username", "owner", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output

    page.goto(live_server.url("/auth/login"))
    page.get_by_label("Email, username or phone").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, owner.").wait_for()

    # `flask create-admin` makes no second factor: the first visit to /admin is sent to set one up.
    page.goto(live_server.url("/admin/"))
    expect(page.get_by_text("Staff accounts need a second factor")).to_be_visible()
    assert "/account/security/totp" in page.url
    _, codes = enroll_from_page(page)
    assert len(codes) == 10
    page.goto(live_server.url("/admin/"))
    expect(page.get_by_role("heading", name="Revenue, last 12 months")).to_be_visible()
    expect(page.locator(".chart svg .bar")).to_have_count(12)
    screenshot("admin-dashboard")

    # A product with a checkout schema and two plans, then the public catalog.
    page.goto(live_server.url("/admin/products/new"))
    page.get_by_label("Name", exact=True).fill("Quasar Notes")
    page.get_by_label("Slug").fill("quasar-notes")
    page.get_by_label("Tagline").fill("Shared notebooks for teams that write things down")
    page.get_by_label("Category").fill("Productivity")
    page.get_by_label("Description").fill("Notebooks, pages and comments, searchable by everyone on the team.")
    editor = page.locator("#product_schema")
    editor.click()
    editor.press_sequentially(SCHEMA_START + SCHEMA_END)
    expect(page.locator("#schema-preview .schema-verdict")).to_have_attribute("data-schema-verdict", "valid")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quasar Notes")
    add_plan(page, "Team", "monthly", "49.00", "0", "Seats: up to 10")
    add_plan(page, "Team", "yearly", "490.00", "10", "Seats: up to 10\nPriority support")
    page.goto(live_server.url("/products/?q=quasar"))
    card = page.locator("#results .product-card", has_text="Quasar Notes")
    expect(card).to_contain_text("Productivity")

    # The platform fee.
    page.goto(live_server.url("/admin/fee"))
    page.get_by_label("New fee (%)").fill("12.5")
    page.get_by_label("Reason").fill("Hosting costs went up")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Change fee").click()
    expect(page.locator(".alert-success")).to_contain_text("12.50%")

    # Refund the paid CRM invoice from the invoice list.
    page.get_by_role("complementary", name="Admin").get_by_role("link", name="Invoices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
    page.get_by_label("Status").select_option("paid")
    expect(page).to_have_url(re.compile(r"/admin/invoices\?.*status=paid"))
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    screenshot("admin-invoices")
    crm_row = rows.filter(has_text="$53.90")
    number = crm_row.locator("strong").inner_text()
    crm_row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {number}")
    page.get_by_label("Refund reason").fill("Bought the wrong plan")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Refund").click()
    notice = page.locator(".alert-success")
    expect(notice).to_contain_text("credit note CN-")
    note_number = re.search(r"CN-\d{4}-\d{6}", notice.inner_text()).group(0)
    credit_notes = page.locator(".plain-list")
    expect(credit_notes).to_contain_text(note_number)
    expect(credit_notes).to_contain_text("Bought the wrong plan")
    screenshot("admin-invoice-refunded")
    credit_notes.get_by_role("link", name=note_number).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Credit note {note_number}")
    expect(page.locator(".page-head")).to_contain_text(number)

    # The audit log has both changes, by the admin.
    page.goto(live_server.url("/admin/audit"))
    table = page.locator("#results tbody")
    expect(table.locator("tr", has_text="invoice.refund")).to_contain_text("owner")
    expect(table.locator("tr", has_text="fee.changed")).to_contain_text("owner")
    assert page.console_errors == []
