"""Every admin page without arguments opens in Chromium with no CSP or script error."""

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.notifications.services import notify
from tests.support.mfa import pass_second_step
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/roles",
    "/admin/fee",
    "/admin/announcements",
    "/admin/jobs",
    "/admin/audit",
    "/admin/reconciliation",
]


def test_admin_pages_render_cleanly_in_chromium(app, live_server, page, screenshot):
    with app.app_context():
        admin = make_user(username="root", role="admin")
        for n in range(3):
            make_user(username=f"customer{n}", first_name=f"Customer {n}")
        notify(admin.id, "announcement", "Welcome aboard", "The admin area is ready.")
        db.session.commit()
    page.goto(live_server.url("/auth/login"))
    page.get_by_label("Email, username or phone").fill("root")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    pass_second_step(page)
    page.wait_for_url(live_server.url("/"))
    for path in PAGES:
        response = page.goto(live_server.url(path))
        assert response.status == 200, path
        name = "admin-" + (path.strip("/").split("/")[-1] if path != "/admin/" else "dashboard")
        screenshot(name)
    page.goto(live_server.url("/admin/users?q=customer1"))
    assert page.locator("#results tbody tr").count() == 1
    page.get_by_label("Search").fill("customer")
    expect(page.locator("#results tbody tr")).to_have_count(3)
    assert "q=customer" in page.url  # the filter is in the URL, so it can be shared
    assert page.console_errors == []
