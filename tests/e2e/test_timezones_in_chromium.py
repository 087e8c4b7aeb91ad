"""Chromium in New York: the browser's zone is detected on the first page, times read on New York's
clock with the zone named; choosing Tokyo on the profile moves every time there."""

import time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.user import User, UserSession
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.browser_context(timezone_id="America/New_York")]


def _zone(app, username: str) -> str | None:
    with app.app_context():
        return db.session.scalar(sa.select(User.timezone).where(User.username == username))


def _wait_for_zone(app, username: str, expected: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _zone(app, username) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _zone(app, username) == expected


def _signed_in_at(app, username: str, zone: str) -> tuple[str, str]:
    """(UTC ISO instant, the same moment as a person in `zone` reads it) of the user's session."""
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == username))
        created = db.session.scalar(sa.select(UserSession.created_at).where(UserSession.user_id == user_id))
    local = created.astimezone(ZoneInfo(zone))
    return f"{created:%Y-%m-%dT%H:%M:%S}Z", f"{local:%d %b %Y, %H:%M} {local.tzname()}"


def _signed_in_cell(page):
    return page.locator("#session-list tbody tr").first.locator("time").first


def test_a_new_york_browser_signs_in_reads_new_york_time_and_switches_to_tokyo(app, live_server, page, screenshot):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    page.goto(live_server.url("/"))
    page.wait_for_function("document.cookie.includes('tz=America/New_York')")  # a visitor's zone, for later pages

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email, username or phone").fill("ada")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, ada.").wait_for()
    _wait_for_zone(app, "ada", "America/New_York")  # detected once, on the first page signed in

    page.locator(".user-menu summary").click()
    page.get_by_role("link", name="Security").click()
    page.locator(".account-tabs").get_by_role("link", name="Sessions").click()
    page.get_by_role("heading", name="Sessions").wait_for()
    instant, new_york = _signed_in_at(app, "ada", "America/New_York")
    cell = _signed_in_cell(page)
    assert cell.get_attribute("datetime") == instant
    assert cell.inner_text() == new_york and new_york.endswith(("EST", "EDT"))

    page.get_by_role("link", name="Profile").first.click()
    zone = page.get_by_label("Time zone")
    assert zone.input_value() == "America/New_York"
    zone.select_option("Asia/Tokyo")
    screenshot("profile-time-zone")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_text("Profile saved.").wait_for()
    assert _zone(app, "ada") == "Asia/Tokyo"

    page.get_by_role("link", name="Sessions", exact=True).click()
    page.get_by_role("heading", name="Sessions").wait_for()
    _, tokyo = _signed_in_at(app, "ada", "Asia/Tokyo")
    assert _signed_in_cell(page).inner_text() == tokyo and tokyo.endswith("JST")
    screenshot("sessions-in-tokyo")


def test_signing_up_in_a_new_york_browser_keeps_new_york(app, live_server, page):
    page.goto(live_server.url("/"))
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Username").fill("grace_h")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("analytical engine 1843")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert _zone(app, "grace_h") == "America/New_York"
