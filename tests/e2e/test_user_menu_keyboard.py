"""The account menu with the keyboard only: Tab reaches it, Enter opens it, the arrow keys and Tab
move through its links, Esc closes it and leaves focus on it."""

import pytest

from tests.e2e.test_billing_journeys import browser_sign_in
from tests.support.users import make_user

pytestmark = pytest.mark.e2e


def _focused(page) -> str:
    return page.evaluate("document.activeElement.textContent.trim()")


def test_the_account_menu_opens_moves_and_closes_with_the_keyboard(app, live_server, page, screenshot):
    with app.app_context():
        user = make_user(username="kay", email="kay@example.com", first_name="Kay", last_name="Board")
        browser_sign_in(app, page, live_server, user)
    page.goto(live_server.url("/products/"))
    menu = page.locator(".user-menu")
    summary = menu.locator("summary")

    for _ in range(30):  # Tab from the top of the page until the menu's summary has focus
        page.keyboard.press("Tab")
        if summary.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the account menu")

    page.keyboard.press("Enter")
    assert menu.evaluate("el => el.open")
    assert menu.locator(".menu-who-email").is_visible()
    screenshot("user-menu-open")

    page.keyboard.press("ArrowDown")
    assert _focused(page) == "Profile"
    page.keyboard.press("ArrowDown")
    assert _focused(page) == "Subscriptions"
    page.keyboard.press("Tab")
    assert _focused(page) == "Invoices"
    page.keyboard.press("End")
    assert _focused(page) == "Log out"
    page.keyboard.press("ArrowDown")  # wraps round
    assert _focused(page) == "Profile"

    page.keyboard.press("Escape")
    assert not menu.evaluate("el => el.open")
    assert summary.evaluate("el => el === document.activeElement")

    page.keyboard.press("Enter")  # open again and follow a link with Enter
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url("**/subscriptions/")
