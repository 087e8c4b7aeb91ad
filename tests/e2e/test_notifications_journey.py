"""A signed-in user in Chromium: a notification arrives, the badge rises without a reload,
the center marks one read and then all, and the badge goes away. Also without JavaScript."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models.base import utcnow
from app.models.notification import Notification
from app.notifications.services import notify
from tests.support.users import sign_in

pytestmark = pytest.mark.e2e

BADGE = "#notification-badge .count-badge"


def sign_in_browser(app, context, live_server, user) -> None:
    """Start a server-side session as a login would, and hand its cookie to the browser."""
    client = app.test_client()
    with app.app_context():
        sign_in(client, user)
    context.add_cookies([{"name": "session", "value": client.get_cookie("session").value, "url": live_server.base}])


def seed_history(app, user) -> None:
    """Earlier notifications, already read, so the center looks like a lived-in account."""
    now = utcnow()
    history = [
        ("trial_started", "Your Pipeline CRM trial has started", "Team plan · free until 6 Dec 2026.", 26),
        ("welcome", "Welcome to MultiProduct, ada", "Browse the catalog and start a free trial in one click.", 27),
    ]
    with app.app_context():
        for kind, title, body, hours in history:
            db.session.add(
                Notification(
                    user_id=user.id,
                    kind=kind,
                    title=title,
                    body=body,
                    link="/",
                    is_read=True,
                    created_at=now - timedelta(hours=hours),
                )
            )
        db.session.commit()


def test_a_new_notification_raises_the_badge_and_the_center_clears_it(app, live_server, page, user, screenshot):
    app.config["NOTIFICATION_POLL_SECONDS"] = 1
    seed_history(app, user)
    sign_in_browser(app, page.context, live_server, user)
    page.goto(live_server.url("/"))
    bell = page.locator("#notification-badge a.bell")
    expect(bell).to_have_attribute("aria-label", "No unread notifications")
    expect(page.locator(BADGE)).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    with app.app_context():  # elsewhere in the app, services notify ada
        notify(
            user.id,
            "announcement",
            "Scheduled maintenance on Sunday",
            "We upgrade the database on Sunday at 02:00 UTC.\n\nExpect about 10 minutes of downtime.",
        )
        notify(
            user.id,
            "payment_failed",
            "Payment failed for Pipeline CRM",
            "Your card was declined. We'll try again on 25 Nov 2026.",
            link="/",
        )
        notify(
            user.id,
            "payment_receipt",
            "Payment received: INV-2026-000123",
            "We received $53.90 for Pipeline CRM · Team (monthly).",
            link="/",
        )
        db.session.commit()

    expect(page.locator(BADGE)).to_have_text("3")
    expect(bell).to_have_attribute("aria-label", "3 unread notifications")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened

    # From here the badge only refreshes on the notifications-changed event, not by polling.
    app.config["NOTIFICATION_POLL_SECONDS"] = 3600
    bell.click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.locator(".notification.is-unread")).to_have_count(3)
    expect(page.locator(".notification")).to_have_count(5)
    screenshot("notifications-center")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("notifications-center-phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.emulate_media(color_scheme="dark", reduced_motion="reduce")  # no mid-transition colours
    screenshot("notifications-center-dark")
    page.emulate_media(color_scheme="light")

    first = page.locator(".notification").first
    first.get_by_role("button", name="Mark as read").click()
    expect(first).not_to_have_class("notification is-unread")
    expect(page.locator(BADGE)).to_have_text("2")
    expect(page.locator("#notification-summary")).to_contain_text("You have 2 unread notifications.")

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator(".notification.is-unread")).to_have_count(0)
    expect(page.locator(BADGE)).to_have_count(0)
    expect(bell).to_have_attribute("aria-label", "No unread notifications")
    expect(page.locator("#notification-summary")).to_contain_text("You're all caught up.")
    screenshot("notifications-center-all-read")
    assert page.console_errors == []


def test_clicking_a_notification_marks_it_read_and_opens_its_link(app, live_server, page, user):
    with app.app_context():
        n = notify(user.id, "trial_ending", "Your trial ends in 3 days", "Choose a plan to keep your data.", link="/")
        db.session.commit()
        notification_id = n.id
    sign_in_browser(app, page.context, live_server, user)
    page.goto(live_server.url("/notifications/"))
    expect(page.locator(BADGE)).to_have_text("1")

    page.locator(f"#n-{notification_id}").click(position={"x": 300, "y": 20})  # anywhere on the row

    expect(page).to_have_url(live_server.url("/"))
    expect(page.locator(BADGE)).to_have_count(0)
    with app.app_context():
        assert db.session.get(Notification, notification_id).is_read
    assert page.console_errors == []


def test_a_notification_without_a_link_opens_in_full(app, live_server, page, user, screenshot):
    with app.app_context():
        n = notify(
            user.id,
            "announcement",
            "Scheduled maintenance on Sunday",
            "We upgrade the database on Sunday at 02:00 UTC.\n\nExpect about 10 minutes of downtime; "
            "your data and subscriptions are not affected.",
        )
        db.session.commit()
        notification_id = n.id
    sign_in_browser(app, page.context, live_server, user)
    page.goto(live_server.url("/notifications/"))
    page.get_by_role("button", name="Unread: Scheduled maintenance on Sunday").click()

    expect(page).to_have_url(live_server.url(f"/notifications/{notification_id}"))
    expect(page.get_by_role("heading", name="Scheduled maintenance on Sunday")).to_be_visible()
    expect(page.locator(".notification-detail p")).to_have_count(3)  # the date line and both paragraphs
    expect(page.locator(BADGE)).to_have_count(0)
    page.wait_for_load_state()
    screenshot("notifications-detail")
    assert page.console_errors == []


def test_without_javascript_the_forms_still_mark_read(app, live_server, browser, user):
    with app.app_context():
        for title in ("First", "Second", "Third"):
            notify(user.id, "announcement", title, "Body")
        db.session.commit()
    context = browser.new_context(java_script_enabled=False)
    try:
        sign_in_browser(app, context, live_server, user)
        page = context.new_page()
        page.goto(live_server.url("/notifications/"))
        page.locator(".notification").first.get_by_role("button", name="Mark as read").click()
        expect(page.locator(".notification.is-unread")).to_have_count(2)
        expect(page.locator(BADGE)).to_have_text("2")
        page.get_by_role("button", name="Mark all as read").click()
        expect(page.locator(".flashes")).to_contain_text("Marked 2 notifications as read.")
        expect(page.locator(BADGE)).to_have_count(0)
    finally:
        context.close()


def test_the_empty_center_in_chromium(app, live_server, page, user, screenshot):
    sign_in_browser(app, page.context, live_server, user)
    page.goto(live_server.url("/notifications/"))
    expect(page.get_by_role("heading", name="No notifications yet")).to_be_visible()
    screenshot("notifications-empty")
    assert page.console_errors == []
