"""Second factors in Chromium, by clicking: enroll an authenticator app (the key read from the page, the code
computed with pyotp), see the recovery codes, sign in with password + code, then with a recovery code (refused
the second time); staff without a second factor are sent to enroll instead of /admin."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.a11y import WIDTHS, check
from tests.support.browser import log_in
from tests.support.mfa import enroll_from_page, pass_second_step
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


def _open_security(page) -> None:
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Security").click()
    page.get_by_role("heading", name="Security", exact=True).wait_for()


def _log_out(page) -> None:
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("button", name="Log out").click()
    page.get_by_text("You're logged out.").wait_for()


def _password_step(page) -> None:
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email, username or phone").fill("ada")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="One more step").wait_for()


def _every_size_and_theme(page, screenshot, name: str) -> list[dict]:
    """Screenshots at 1280 and 390 px, light and dark, with axe and the sideways-scroll check on each."""
    problems = []
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for theme in ("light", "dark"):
            page.emulate_media(color_scheme=theme)
            problems += check(page, f"{name} {width_name} {theme}")
            screenshot(f"{name}-{width_name}-{theme}")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.emulate_media(color_scheme="light")
    return problems


def test_enroll_then_sign_in_with_a_code_and_with_a_recovery_code_once(app, live_server, page, screenshot):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    log_in(page, live_server, "ada", DEFAULT_PASSWORD)

    _open_security(page)
    security = page.locator("main")
    expect(security.get_by_text("Off", exact=True)).to_be_visible()
    problems = _every_size_and_theme(page, screenshot, "mfa-security-off")
    security.get_by_role("link", name="Turn on").click()
    page.get_by_role("heading", name="Set up your authenticator app").wait_for()
    assert page.locator(".qr-figure svg").count() == 1  # the QR is inline SVG
    problems += _every_size_and_theme(page, screenshot, "mfa-enroll")

    # A wrong code first: refused beside the field, nothing turned on.
    page.get_by_label("Then enter the code your app shows").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    page.locator("#code-error").wait_for()
    secret, codes = enroll_from_page(page)
    assert len(codes) == 10
    problems += _every_size_and_theme(page, screenshot, "mfa-recovery-codes")
    page.get_by_role("link", name="I’ve saved them").click()
    expect(page.get_by_text("10 of 10 recovery codes left.")).to_be_visible()
    expect(page.get_by_text("You turned on your authenticator app.")).to_be_visible()
    problems += _every_size_and_theme(page, screenshot, "mfa-security-on")

    # Password, then the code from the app.
    _log_out(page)
    _password_step(page)
    problems += _every_size_and_theme(page, screenshot, "mfa-second-step")
    pass_second_step(page, secret)
    page.get_by_text("Welcome back, ada.").wait_for()

    # Password, then a recovery code instead.
    _log_out(page)
    _password_step(page)
    page.get_by_label("Authenticator or recovery code").fill(codes[0])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text("Welcome back, ada.").wait_for()
    _open_security(page)
    expect(page.get_by_text("9 of 10 recovery codes left.")).to_be_visible()
    expect(page.get_by_text("You completed the sign-in with a recovery code.")).to_be_visible()

    # The same recovery code a second time: refused.
    _log_out(page)
    _password_step(page)
    page.get_by_label("Authenticator or recovery code").fill(codes[0])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("#code-error")).to_contain_text("isn’t right")
    assert "/auth/mfa" in page.url
    screenshot("mfa-recovery-code-refused")
    assert not problems, problems


def test_an_admin_without_a_second_factor_is_sent_to_enroll_instead_of_admin(app, live_server, page, screenshot):
    with app.app_context():
        make_user(username="boss", role="admin", totp=False)
    log_in(page, live_server, "boss", DEFAULT_PASSWORD)  # no factor yet: the password alone signs in
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Admin").click()
    page.get_by_role("heading", name="Set up your authenticator app").wait_for()
    expect(page.get_by_text("Staff accounts need a second factor")).to_be_visible()
    assert "/admin" not in page.url
    screenshot("mfa-staff-must-enroll")
    enroll_from_page(page)
    page.get_by_role("link", name="I’ve saved them").click()
    page.get_by_role("heading", name="Security", exact=True).wait_for()
    expect(page.get_by_text("10 of 10 recovery codes left.")).to_be_visible()
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Admin").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
