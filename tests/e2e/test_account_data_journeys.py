"""Account data in Chromium (issue 14): change the email end to end through the SMTP sink, export the
data and download it from the emailed link, delete the account and see sign-in refused, and an admin
signing a user out everywhere (the user's next click lands on the login page)."""

import json
import re

import pytest

from app.extensions import db
from tests.factories import InvoiceFactory, PlanFactory, SubscriptionFactory
from tests.support.browser import log_in
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


def _code(sink, message) -> str:
    return re.search(r"\b(\d{6})\b", sink.text(message)).group(1)


def _open_account_tab(page, tab: str) -> None:
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Profile").click()
    page.get_by_role("heading", name="Profile").wait_for()
    page.locator(".account-tabs").get_by_role("link", name=tab).click()


def test_change_the_email_with_the_code_sent_to_the_new_address(
    app, live_server, page, screenshot, smtp_sink, run_jobs
):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    log_in(page, live_server, "ada", DEFAULT_PASSWORD)
    _open_account_tab(page, "Email")
    page.get_by_role("heading", name="Email address").wait_for()
    screenshot("account-email")
    page.get_by_label("New email address").fill("not an address")
    page.get_by_role("button", name="Send a code to the new address").click()
    page.locator("#email-error").wait_for()
    page.get_by_label("New email address").fill("ada@newmail.example")
    page.get_by_role("button", name="Send a code to the new address").click()
    page.get_by_role("heading", name="Confirm your new address").wait_for()
    page.get_by_text("We sent a code to ada@newmail.example").wait_for()
    screenshot("account-email-confirm")

    run_jobs()
    [code_email] = smtp_sink.wait_for(1)
    assert code_email["To"] == "ada@newmail.example"
    page.get_by_label("Code from the email").fill(_code(smtp_sink, code_email))
    page.get_by_role("button", name="Change my address").click()
    page.get_by_text("Your email address is now ada@newmail.example.").wait_for()

    run_jobs()
    smtp_sink.wait_for(2)
    [notice] = smtp_sink.to("ada@example.com")
    text = smtp_sink.text(notice)
    assert "ada@newmail.example" in text
    reset = re.search(r"(http://\S+/auth/password-reset/\S+)", text).group(1)
    page.goto(reset)  # the old address's "secure your account" link works
    page.get_by_role("heading", name="Choose a new password").wait_for()


def test_export_my_data_and_download_it_from_the_emailed_link(app, live_server, page, screenshot, smtp_sink, run_jobs):
    with app.app_context():
        user = make_user(username="ada", email="ada@example.com")
        plan = PlanFactory()
        SubscriptionFactory(user=user, plan=plan)
        InvoiceFactory(user=user, plan=plan, status="paid")
    log_in(page, live_server, "ada", DEFAULT_PASSWORD)
    _open_account_tab(page, "Your data")
    page.get_by_role("heading", name="Your data", exact=True).wait_for()
    screenshot("account-data")
    page.get_by_role("button", name="Prepare my data").click()
    page.get_by_text("We're preparing your data").wait_for()
    screenshot("account-data-preparing")

    run_jobs()
    [ready] = smtp_sink.wait_for(1)
    link = re.search(r"(http://\S+/account/export/\S+)", smtp_sink.text(ready)).group(1)
    response = page.context.request.get(link)  # the emailed link, in the signed-in browser
    assert response.status == 200 and response.headers["content-type"] == "application/json"
    data = json.loads(response.body())
    assert [s["status"] for s in data["subscriptions"]] == ["active"]
    assert len(data["invoices"]) == 1 and data["invoices"][0]["status"] == "paid"

    page.get_by_role("link", name="Check again").click()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download your data")).click()
    assert download.value.suggested_filename.startswith("multiproduct-data-")
    screenshot("account-data-ready")
    with open(download.value.path()) as saved:
        assert json.load(saved)["profile"]["username"] == "ada"


def test_delete_the_account_then_sign_in_is_refused(app, live_server, page, screenshot, smtp_sink, run_jobs):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    log_in(page, live_server, "ada", DEFAULT_PASSWORD)
    _open_account_tab(page, "Your data")
    page.get_by_role("link", name="Delete my account…").click()
    page.get_by_role("heading", name="Delete your account").wait_for()
    screenshot("account-delete")
    page.get_by_label("Type your username to confirm").fill("ad")
    page.get_by_role("button", name="Delete my account").click()
    page.locator("#username-error").get_by_text("Type your username, ada, exactly").wait_for()
    page.get_by_label("Type your username to confirm").fill("ada")
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_text("Your account is deleted.").wait_for()
    assert page.locator(".user-menu").count() == 0

    run_jobs()
    [goodbye] = smtp_sink.wait_for(1)
    assert goodbye["To"] == "ada@example.com" and "was deleted" in smtp_sink.text(goodbye)

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email, username or phone").fill("ada")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#password-error").get_by_text("don't match an account").wait_for()


def test_an_admin_signs_a_user_out_everywhere(app, live_server, page, browser, screenshot, smtp_sink, run_jobs):
    with app.app_context():
        make_user(username="root", email="root@example.com", role="admin")
        make_user(username="mallory", email="mallory@example.com")
        db.session.commit()
    user_context = browser.new_context(viewport={"width": 1280, "height": 860})
    user_page = user_context.new_page()
    log_in(user_page, live_server, "mallory", DEFAULT_PASSWORD)

    log_in(page, live_server, "root", DEFAULT_PASSWORD)
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("link", name="mallory").click()
    page.get_by_role("heading", name="mallory").wait_for()
    screenshot("admin-user-detail")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign out everywhere").click()
    page.get_by_text("mallory is signed out everywhere (1 session ended).").wait_for()

    user_page.locator(".user-menu summary").click()
    user_page.locator(".user-menu").get_by_role("link", name="Profile").click()
    user_page.wait_for_url(re.compile(r"/auth/login"))
    user_page.get_by_role("button", name="Log in").wait_for()
    user_context.close()

    run_jobs()
    smtp_sink.wait_for(1)
    [notice] = smtp_sink.to("mallory@example.com")
    assert "signed your account out on every device" in smtp_sink.text(notice)
