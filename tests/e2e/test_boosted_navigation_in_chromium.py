"""Pages reached by clicking boosted links (htmx swaps the body, keeps the head) look and work
as they do when loaded directly."""

import contextlib
import re

import pytest
from playwright.sync_api import Error, expect

from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


def _style(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).{prop}")


def _still_the_first_document(page) -> bool:
    return page.evaluate("window.__firstDocument === true")


def _from_the_catalog_click(app, live_server, page, link: str, heading: str) -> None:
    """Ada has an account; a visitor on the catalog clicks `link` in the navbar."""
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    page.goto(live_server.url("/products/"))
    page.evaluate("window.__firstDocument = true")
    page.locator(".nav-actions").get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading).wait_for()
    assert _still_the_first_document(page)  # boosted: the head is still the catalog's
    assert _style(page, ".auth-shell", "maxWidth") == "440px"


def test_log_in_and_profile_reached_through_the_navbar_are_styled(app, live_server, page):
    _from_the_catalog_click(app, live_server, page, "Log in", "Welcome back")
    assert _style(page, ".auth-head", "textAlign") == "center"

    page.get_by_label("Email, username or phone").fill("ada")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, ada.").wait_for()
    assert _style(page, ".user-menu-name", "textOverflow") == "ellipsis"
    page.locator(".user-menu summary").click()
    page.locator(".user-menu").get_by_role("link", name="Profile").click()
    page.get_by_role("heading", name="Profile").wait_for()
    assert _still_the_first_document(page)
    assert _style(page, ".account", "maxWidth") == "880px"


def test_sign_up_reached_through_the_navbar_runs_its_script(app, live_server, page):
    _from_the_catalog_click(app, live_server, page, "Sign up", "Create your account")
    page.locator("#username").press_sequentially("ada", delay=40)
    status = page.locator("#username-status")
    status.get_by_text("“ada” is taken.").wait_for()
    expect(status.locator(".chip").first).to_have_css("border-radius", "999px")
    # auth.js fills the field in place; without it the chip is a link that loads /auth/signup?username=…
    status.locator(".chip").first.click()
    status.get_by_text("“ada_official” is available.").wait_for()
    assert page.locator("#username").input_value() == "ada_official"
    assert page.url == live_server.url("/auth/signup") and _still_the_first_document(page)


def test_the_page_clicked_last_wins_over_a_slower_page_clicked_before_it(app, live_server, page):
    """A boosted click aborts the navigation still in flight: the slow page never replaces the one chosen after it."""
    held = []  # the cart page, answered only after the catalog is shown (a slow request)
    page.goto(live_server.url("/"))
    page.route(re.compile(r"/cart$"), lambda route: held.append(route))
    page.locator("a[href='/cart']").first.click()
    page.locator(".nav-links").get_by_role("link", name="Products").click()
    page.wait_for_url(re.compile(r"/products/$"))
    for route in held:
        with contextlib.suppress(Error):  # the browser aborted it: nothing left to answer
            route.continue_()
    page.wait_for_timeout(1000)
    assert page.url.endswith("/products/")
    expect(page.get_by_role("heading", name="Your cart")).to_have_count(0)
