"""A newcomer's first hour on a server that is not on port 5000 and has no BASE_URL.

Every absolute link (the emailed reset link, the welcome notification, email footers,
the sandbox's webhook) must lead back to the port actually served.
"""

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from rq.registry import FailedJobRegistry

from app.extensions import db
from app.models.billing import Invoice
from app.models.checkout import WebhookEvent
from app.outbox import QUEUES, get_queue
from tests.support.checkout import CARD_OK, catalog

pytestmark = pytest.mark.e2e

URL = re.compile(r"https?://[^\s\"'<>)]+")


def _code(sink, message) -> str:
    return re.search(r"\b(\d{6})\b", sink.text(message)).group(1)


def _links(sink) -> set[str]:
    return {url for m in sink.messages for url in URL.findall(sink.text(m) + sink.html(m))}


def _failed_jobs(app) -> list[str]:
    redis = app.extensions["redis"]
    return [job_id for q in QUEUES for job_id in FailedJobRegistry(queue=get_queue(q, redis)).get_job_ids()]


def test_on_a_random_port_the_reset_link_welcome_notification_and_sandbox_webhook_all_reach_the_served_app(
    app, dev_live_server, page, smtp_sink, run_jobs
):
    server = dev_live_server
    assert app.config["BASE_URL"] is None and server.port != 5000
    app.config["PAYMENT_SANDBOX_WEBHOOKS"] = True
    with app.app_context():
        catalog()

    page.goto(server.url("/products/"))
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("grace_h")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("analytical engine 1843")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    run_jobs()
    [verification] = smtp_sink.wait_for(1)
    page.get_by_label("Verification code").fill(_code(smtp_sink, verification))
    page.get_by_role("button", name="Verify and continue").click()
    page.get_by_text("Welcome, grace_h! Your email is verified").wait_for()

    # The welcome notification's link is followed from the notification center (a POST, then a redirect).
    page.locator("#notification-badge a.bell").click()
    page.get_by_role("heading", name="Notifications").wait_for()
    page.locator(".notification-title", has_text="Welcome to MultiProduct").click()
    page.get_by_role("heading", name="Products", level=1).wait_for()
    assert page.url == server.url("/products/")

    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("button", name="Log out").click()
    page.get_by_text("You're logged out.").wait_for()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_role("heading", name="Reset your password").wait_for()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_role("button", name="Send reset link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    run_jobs()
    smtp_sink.wait_for(3)
    [link] = [url for url in _links(smtp_sink) if "/auth/password-reset/" in url and "?" not in url][:1]
    assert link.startswith(server.base + "/")
    page.goto(link)  # as if clicked in the mail client
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_role("button", name="Save new password").click()
    page.get_by_text("Your password was changed").wait_for()
    page.get_by_label("Email, username or phone").fill("grace_h")
    page.get_by_label("Password").fill("a brand new passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, grace_h.").wait_for()

    page.locator(".nav-links").get_by_role("link", name="Products").click()
    page.get_by_role("link", name="Pipeline CRM").click()
    page.get_by_role("heading", name="Pipeline CRM", level=1).wait_for()
    page.get_by_role("button", name="Add to cart").first.click()
    page.locator("[data-cart-count]").get_by_text("1").wait_for()
    page.locator("a[href='/cart']").first.click()
    page.get_by_role("link", name="Continue to checkout").click()
    page.get_by_role("heading", name="Review and pay").wait_for()
    page.get_by_label("Card number").fill(CARD_OK)
    page.get_by_label("Expiry").fill("12/34")
    page.get_by_label("Security code").fill("123")
    page.get_by_label("Name on card").fill("Grace Hopper")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.get_by_role("heading", name="Payment received. Thank you!").wait_for()

    run_jobs()  # the sandbox's signed event goes over HTTP to the webhook of the server that took the payment
    with app.app_context():
        event = db.session.scalar(sa.select(WebhookEvent))
        assert event is not None and event.type == "charge.succeeded" and event.status == "processed"
        number = db.session.scalar(sa.select(Invoice.number).where(Invoice.status == "paid"))
    assert _failed_jobs(app) == []
    page.get_by_role("link", name=number).click()
    page.get_by_role("heading", name=f"Invoice {number}").wait_for()
    assert page.locator(".badge", has_text="paid").first.is_visible()

    smtp_sink.wait_for(6)  # verification, welcome, reset, password changed, receipt, activation
    assert {urlsplit(url).netloc for url in _links(smtp_sink)} == {f"127.0.0.1:{server.port}"}  # footers too
