"""Identity journeys in Chromium: sign up with the live username check, then log out, fail,
log in by code, reset the password from the emailed link and log in with the new one."""

import re

import pytest

from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


def _code(sink, message) -> str:
    return re.search(r"\b(\d{6})\b", sink.text(message)).group(1)


def _no_console_errors(page):
    # A form answered with 4xx (wrong password, wrong code) is logged by Chromium as a failed resource.
    assert [e for e in page.console_errors if not re.search(r"status of 4\d\d", e)] == []


def test_sign_up_with_the_live_username_check_verify_and_get_welcomed(
    app, live_server, page, screenshot, smtp_sink, run_jobs
):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    page.goto(live_server.url("/auth/signup"))
    screenshot("signup")
    username = page.locator("#username")
    username.press_sequentially("ada", delay=40)
    status = page.locator("#username-status")
    status.get_by_text("“ada” is taken.").wait_for()
    assert status.locator(".chip").count() == 5
    screenshot("signup-username-taken")
    status.locator(".chip").first.click()  # a suggestion fills the field and is checked again
    status.get_by_text("“ada_official” is available.").wait_for()
    assert username.input_value() == "ada_official" and page.url.endswith("/auth/signup")
    username.fill("")
    username.press_sequentially("grace_h", delay=40)
    status.get_by_text("“grace_h” is available.").wait_for()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("analytical engine 1843")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert page.url.endswith("/auth/verify")
    screenshot("verify")

    run_jobs()
    [verification] = smtp_sink.wait_for(1)
    assert verification["To"] == "grace@example.com"
    page.get_by_label("Verification code").fill(_code(smtp_sink, verification))
    page.get_by_role("button", name="Verify and continue").click()
    page.get_by_text("Welcome, grace_h! Your email is verified").wait_for()
    assert page.locator(".user-menu summary").inner_text().strip().endswith("grace_h")
    screenshot("signup-final")

    run_jobs()
    welcome = smtp_sink.wait_for(2)[1]
    assert "Welcome, grace_h!" in smtp_sink.text(welcome)
    _no_console_errors(page)


def test_log_out_fail_log_in_by_code_reset_the_password_and_log_in_with_it(
    app, live_server, page, screenshot, smtp_sink, run_jobs
):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")
    page.goto(live_server.url("/auth/login"))
    screenshot("login")
    page.get_by_label("Email, username or phone").fill("ada")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, ada.").wait_for()

    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("button", name="Log out").click()
    page.get_by_text("You're logged out.").wait_for()

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email, username or phone").fill("ada@example.com")
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Log in").click()
    page.locator("#password-error").get_by_text("don't match an account").wait_for()
    assert page.locator("#password").get_attribute("aria-invalid") == "true"
    screenshot("login-failed")

    page.get_by_role("link", name="Email me a sign-in code").click()
    # A boosted link swaps the page later: wait for it, or "Email" finds the login page's field.
    page.get_by_role("heading", name="Sign in with a code").wait_for()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Email me a code").click()
    page.get_by_role("heading", name="Enter your code").wait_for()
    run_jobs()
    [login_code] = smtp_sink.wait_for(1)
    page.get_by_label("Sign-in code").fill(_code(smtp_sink, login_code))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Welcome back, ada.").wait_for()

    page.goto(live_server.url("/account/profile"))
    page.get_by_role("heading", name="Profile").wait_for()
    screenshot("profile")
    page.goto(live_server.url("/account/sessions"))
    assert page.get_by_text("This device").count() == 1
    screenshot("sessions")
    page.locator(".user-menu summary").click()
    assert page.locator(".user-menu").get_by_role("link", name="Admin").count() == 0  # customers see no admin link
    screenshot("user-menu")
    page.locator(".user-menu").get_by_role("button", name="Log out").click()
    page.get_by_text("You're logged out.").wait_for()

    page.goto(live_server.url("/auth/login"))
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_role("heading", name="Reset your password").wait_for()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Send reset link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    run_jobs()
    reset_email = smtp_sink.wait_for(2)[1]
    link = re.search(r"(http://\S+/auth/password-reset/\S+)", smtp_sink.text(reset_email)).group(1)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_role("button", name="Save new password").click()
    page.get_by_text("Your password was changed").wait_for()

    page.get_by_label("Email, username or phone").fill("ada")
    page.get_by_label("Password").fill("a brand new passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, ada.").wait_for()
    screenshot("password-reset-final")
    run_jobs()
    notice = smtp_sink.wait_for(3)[2]
    assert "password for your account was changed" in smtp_sink.text(notice)
    _no_console_errors(page)
