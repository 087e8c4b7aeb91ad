"""Billing in Chromium: a trial, a two-product checkout with a double-clicked Pay, an invoice PDF, a decline."""

import re
import subprocess

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Invoice, Subscription, Transaction
from app.models.user import UserSession
from tests.support.checkout import SCHEMA, catalog, ids

pytestmark = pytest.mark.e2e


def browser_sign_in(app, page, live_server, user) -> None:
    """What a login leaves behind: a server-side session and the signed session cookie naming it."""
    with app.app_context():
        record = UserSession(user_id=user.id, device="Chromium", ip="127.0.0.1")
        db.session.add(record)
        db.session.commit()
        value = app.session_interface.get_signing_serializer(app).dumps({"_user_id": str(record.id), "_fresh": True})
    page.context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": value, "url": live_server.base}])


def add_to_cart(page, live_server, plan_id) -> None:
    """POST the product page's add-to-cart form (plan id + CSRF token), as the catalog page will."""
    page.goto(live_server.url("/cart"))
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    response = page.request.post(live_server.url("/cart/add"), form={"plan_id": str(plan_id), "csrf_token": token})
    assert response.ok


def fill_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("Security code").fill("123")
    page.get_by_label("Name on card").fill("Ada Lovelace")


@pytest.fixture
def gateway(app):
    from app.billing.gateway.sandbox import SandboxGateway

    return SandboxGateway(app.extensions["redis"])


@pytest.fixture
def shop(app):
    with app.app_context():
        rows = catalog()
        crm = rows["crm"]
        crm.product_schema = SCHEMA  # the CRM asks for a company name before a trial
        db.session.commit()
        return ids(rows)


def test_start_a_trial_and_see_it_under_my_subscriptions(app, live_server, page, user, shop, screenshot):
    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/cart"))
    page.get_by_role("button", name="Try it free for 14 days instead").click()
    page.get_by_role("heading", name="Start your Pipeline CRM trial").wait_for()
    page.get_by_label("Company name").fill("Analytical Engines Ltd")
    screenshot("billing-trial-details")
    page.get_by_role("button", name="Start free trial").click()
    page.wait_for_url(re.compile(r"/subscriptions/$"))
    card = page.locator("article.sub-card", has_text="Pipeline CRM")
    assert card.locator(".badge", has_text="Free trial").is_visible()
    assert "trial ends" in card.inner_text().lower()
    assert page.locator(".alert-success", has_text="Your Pipeline CRM trial has started").is_visible()
    with app.app_context():
        sub = db.session.scalar(sa.select(Subscription))
        assert sub.status == "trial" and sub.answers["company_name"] == "Analytical Engines Ltd"
    # The auto-renew switch works in place (HTMX), without a page load.
    card.get_by_role("switch", name="Auto-renew").click()
    page.locator(f"#sub-{sub.id} .switch[aria-checked='false']").wait_for()
    assert page.locator(".alert-success", has_text="Auto-renew is off").is_visible()
    assert page.console_errors == []


def test_two_products_checkout_with_a_double_clicked_pay_then_the_invoice_and_its_pdf(
    app, live_server, page, user, shop, gateway, screenshot, tmp_path
):
    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    add_to_cart(page, live_server, shop["analytics_yearly"])
    page.goto(live_server.url("/cart"))
    assert page.locator(".cart-line").count() == 2
    assert page.locator("[data-cart-count]").inner_text() == "2"
    screenshot("billing-cart")
    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("heading", name="Review and pay").wait_for()
    assert "Total due today" in page.inner_text("table.order-table")
    page.get_by_label("Company name").fill("Analytical Engines Ltd")  # the CRM's own question
    fill_card(page, "4242 4242 4242 4242")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("billing-review")
    form = page.evaluate("Object.fromEntries(new FormData(document.querySelector('form[data-checkout]')))")
    page.get_by_role("button", name=re.compile(r"^Pay \$517\.22")).dblclick()
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    # A retry of the same submit (a flaky network, a resent form) replays the first result.
    retry = page.request.post(live_server.url("/checkout"), form=form, max_redirects=0)
    assert retry.status == 303 and retry.headers["location"] == page.url.replace(live_server.base, "")
    assert page.get_by_role("heading", name="Payment received. Thank you!").is_visible()
    with app.app_context():
        subs = db.session.scalars(sa.select(Subscription)).all()
        invoices = db.session.scalars(sa.select(Invoice).order_by(Invoice.number)).all()
        assert len(subs) == 2 and {s.status for s in subs} == {"active"}
        assert sorted(i.subscription_id for i in invoices) == sorted(s.id for s in subs)
        assert {i.status for i in invoices} == {"paid"}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 1
        number = invoices[1].number
    assert len(gateway.charges()) == 1
    page.get_by_role("link", name=number).click()
    page.get_by_role("heading", name=f"Invoice {number}").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("billing-invoice")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    path = tmp_path / "invoice.pdf"
    download_info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    assert number in subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
    page.goto(live_server.url("/subscriptions/"))
    assert page.locator("article.sub-card").count() == 2
    screenshot("billing-subscriptions")
    page.emulate_media(color_scheme="dark")
    screenshot("billing-subscriptions-dark")
    assert page.console_errors == []


def test_a_declined_card_is_explained_and_nothing_is_charged_or_invoiced(
    app, live_server, page, user, shop, gateway, screenshot
):
    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/checkout"))
    page.get_by_label("Company name").fill("Analytical Engines Ltd")
    fill_card(page, "4000 0000 0000 0002")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    alert = page.locator("#checkout-message")
    alert.wait_for()
    assert "Payment declined" in alert.inner_text() and "Your card was declined" in alert.inner_text()
    assert "Nothing was charged" in alert.inner_text()
    assert page.locator("#card_number-error").is_visible()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot("billing-declined")
    assert [c["status"] for c in gateway.charges()] == ["failed"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0
        assert db.session.scalar(sa.select(Transaction.status)) == "failed"


def test_empty_billing_pages_render_without_console_errors(app, live_server, page, user):
    browser_sign_in(app, page, live_server, user)
    for path, heading in (
        ("/cart", "Your cart is empty"),
        ("/subscriptions/", "No subscriptions yet"),
        ("/invoices/", "No invoices yet"),
        ("/payment-method", "Card for renewals"),
    ):
        response = page.goto(live_server.url(path))
        assert response.status == 200, path
        assert page.get_by_role("heading", name=heading).is_visible(), path
    assert page.console_errors == []
