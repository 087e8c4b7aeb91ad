"""Journey: sign in with the local OpenID provider (and with Facebook, giving an email) in Chromium."""
import re

import pytest
from flask import render_template_string

from tests.support.browser import LiveServer

pytestmark = pytest.mark.e2e

# The login page belongs to another branch; this stand-in page shows the same partial.
SIGN_IN_PAGE = """{% extends "base.html" %}{% block title %}Log in{% endblock %}{% block content %}
<section class="panel-narrow card auth-card"><h1>Welcome back</h1>
<p class="muted">Sign in to manage your subscriptions.</p>
{% include "auth/_social_buttons.html" %}</section>{% endblock %}"""


@pytest.fixture
def social_site(make_app, oidc_server):
    app = make_app()
    app.add_url_rule("/test-sign-in", "test_sign_in", lambda: render_template_string(SIGN_IN_PAGE))
    server = LiveServer(app).start()
    oidc_server.configure_google(app, base_url=server.base)
    oidc_server.configure_facebook(app)
    yield server
    server.stop()


def fill_account(page, login, name, email=None, verified=False):
    page.fill("#login", login)
    page.fill("#name", name)
    if email:
        page.fill("#email", email)
    if verified:
        page.check("input[name=email_verified]")


def test_sign_in_with_the_local_openid_provider(social_site, oidc_server, page, screenshot):
    page.goto(social_site.url("/test-sign-in?next=/"))
    buttons = page.locator(".social-buttons a")
    assert buttons.all_inner_texts() == ["Continue with Google", "Continue with Facebook"]
    screenshot("social-buttons")

    page.get_by_role("link", name="Continue with Google").click()
    page.wait_for_url(re.compile(re.escape(oidc_server.base) + "/interaction/"))
    fill_account(page, "google-ada-1001", "Ada Lovelace", "ada@example.test", verified=True)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(social_site.url("/"))
    assert page.locator(".user-menu .user-name").inner_text() == "ada_lovelace"
    assert page.get_by_text("Signed in as ada_lovelace.").is_visible()
    page.locator(".user-menu summary").click()
    assert page.locator(".user-menu .menu-panel").get_by_text("ada@example.test").is_visible()
    screenshot("social-signed-in")
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []


def test_sign_in_with_facebook_and_give_an_email(social_site, page, screenshot):
    page.goto(social_site.url("/test-sign-in"))
    page.get_by_role("link", name="Continue with Facebook").click()
    fill_account(page, "10220000000001", "Linus Torvalds")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(social_site.url("/auth/oauth/email"))
    page.get_by_role("button", name="Continue").click()  # empty: explained next to the field
    assert page.locator("#email-error").inner_text() == "Enter your email address."
    page.fill("#email", "linus@example.com")
    screenshot("social-email-step")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(social_site.url("/"))
    assert page.locator(".user-menu .user-name").inner_text() == "linus_torvalds"


def test_cancelling_at_the_provider_lands_on_a_friendly_page(social_site, page, screenshot):
    page.goto(social_site.url("/test-sign-in"))
    page.get_by_role("link", name="Continue with Google").click()
    fill_account(page, "google-ada-1001", "Ada Lovelace", "ada@example.test", verified=True)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Deny").click()

    page.wait_for_url(re.compile(re.escape(social_site.url("/auth/oauth/google/callback"))))
    assert page.get_by_role("heading", name="Sign-in didn't finish").is_visible()
    assert page.get_by_text("You cancelled signing in with Google").is_visible()
    assert page.locator(".user-menu").count() == 0
    screenshot("social-cancelled")
