"""Journeys in Chromium from the real login and signup pages: sign in with the local OpenID
provider; sign up with Facebook, which gives no email, by proving an address with the emailed code."""

import re

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def social_site(app, live_server, oidc_server):
    oidc_server.configure_google(app, base_url=live_server.base)
    oidc_server.configure_facebook(app)
    return live_server


def fill_account(page, login, name, email=None, verified=False):
    page.fill("#login", login)
    page.fill("#name", name)
    if email:
        page.fill("#email", email)
    if verified:
        page.check("input[name=email_verified]")


def _code(smtp_sink, message) -> str:
    return re.search(r"\b(\d{6})\b", smtp_sink.text(message)).group(1)


def test_sign_in_with_the_local_openid_provider(social_site, oidc_server, page, screenshot):
    page.goto(social_site.url("/auth/login?next=/"))
    buttons = page.locator(".auth-card .social-buttons a")
    assert buttons.all_inner_texts() == ["Continue with Google", "Continue with Facebook"]
    # The buttons sit above the password form, split from it by "or".
    assert page.locator(".auth-card .social-buttons + .divider").inner_text() == "or log in with your password"
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        screenshot(f"login-social-buttons-{scheme}")
    page.emulate_media(color_scheme="light")

    page.get_by_role("link", name="Continue with Google").click()
    page.wait_for_url(re.compile(re.escape(oidc_server.base) + "/interaction/"))
    fill_account(page, "google-ada-1001", "Ada Lovelace", "ada@example.com", verified=True)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(social_site.url("/"))
    assert page.locator(".user-menu .user-name").inner_text() == "ada_lovelace"
    assert page.get_by_text("Signed in as ada_lovelace.").is_visible()
    page.locator(".user-menu summary").click()
    assert page.locator(".user-menu .menu-panel").get_by_text("ada@example.com").is_visible()
    screenshot("social-signed-in")
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []


def test_sign_up_with_facebook_and_prove_an_email_by_code(social_site, page, screenshot, smtp_sink, run_jobs):
    page.goto(social_site.url("/auth/signup"))
    assert page.locator(".auth-card .social-buttons + .divider").inner_text() == "or sign up with your email"
    screenshot("signup-social-buttons")
    page.get_by_role("link", name="Continue with Facebook").click()
    fill_account(page, "10220000000001", "Linus Torvalds")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(social_site.url("/auth/oauth/email"))
    page.get_by_role("button", name="Send me a code").click()  # empty: explained next to the field
    assert page.locator("#email-error").inner_text() == "Enter your email address."
    page.get_by_label("Email address").fill("linus@example.com")
    screenshot("social-email-step")
    page.get_by_role("button", name="Send me a code").click()

    page.get_by_role("heading", name="Check your email").wait_for()
    assert page.get_by_text("l•••@example.com").is_visible()
    page.get_by_label("Verification code").fill("000000")
    page.get_by_role("button", name="Verify and continue").click()
    page.locator("#code-error").get_by_text("wrong or has expired").wait_for()
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "linus@example.com" and "Hi Linus," in smtp_sink.text(message)
    page.get_by_label("Verification code").fill(_code(smtp_sink, message))
    screenshot("social-code-step")
    page.get_by_role("button", name="Verify and continue").click()

    page.wait_for_url(social_site.url("/"))
    assert page.locator(".user-menu .user-name").inner_text() == "linus_torvalds"
    assert page.get_by_text("Signed in as linus_torvalds.").is_visible()
    run_jobs()
    assert "Welcome, linus_torvalds!" in smtp_sink.text(smtp_sink.wait_for(2)[1])
    assert [e for e in page.console_errors if not re.search(r"status of 4\d\d", e)] == []


def test_cancelling_at_the_provider_lands_on_a_friendly_page(social_site, page, screenshot):
    page.goto(social_site.url("/auth/login"))
    page.get_by_role("link", name="Continue with Google").click()
    fill_account(page, "google-ada-1001", "Ada Lovelace", "ada@example.com", verified=True)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Deny").click()

    page.wait_for_url(re.compile(re.escape(social_site.url("/auth/oauth/google/callback"))))
    assert page.get_by_role("heading", name="Sign-in didn't finish").is_visible()
    assert page.get_by_text("You cancelled signing in with Google").is_visible()
    assert page.locator(".user-menu").count() == 0
    screenshot("social-cancelled")
