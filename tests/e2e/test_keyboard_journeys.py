"""Keyboard-only journeys (issue 13): Tab, Shift+Tab, Enter and Space, typing with the keyboard — no clicks,
no fills. After each HTMX swap the test asserts where focus is (document.activeElement)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_billing_journeys import add_to_cart, browser_sign_in
from tests.support.checkout import catalog, ids

pytestmark = pytest.mark.e2e

ACTIVE = (
    "() => { const e = document.activeElement; if (!e || e === document.body) return 'body';"
    " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ':'"
    " + (e.textContent || e.value || '').trim().slice(0, 60); }"
)


def active(page) -> str:
    return page.evaluate(ACTIVE)


def tab_to(page, matches, *, back: bool = False, limit: int = 60) -> str:
    """Press Tab (or Shift+Tab) until the focused element matches `matches` (a selector); fails if never."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", matches):
            return active(page)
    raise AssertionError(f"the keyboard never reached {matches}; last focused: {active(page)}")


def retype(page, text: str) -> None:
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")
    page.keyboard.type(text, delay=20)


def test_sign_up_with_the_keyboard_through_a_refused_field_and_its_fix(live_server, page, screenshot):
    page.goto(live_server.url("/auth/signup"))
    # Record every text the polite status region shows, to see the in-flight state however fast the answer.
    page.evaluate(
        "() => { window.seen = []; const s = document.getElementById('username-status');"
        " new MutationObserver(() => window.seen.push(s.textContent.trim()))"
        ".observe(s, {childList: true, subtree: true}); }"
    )
    tab_to(page, "#username")
    page.keyboard.type("ad", delay=30)
    status = page.locator("#username-status")
    expect(status.locator(".username-status")).not_to_have_class(re.compile(r"is-checking"))
    seen = page.evaluate("() => window.seen")
    assert "Checking…" in seen and seen[-1] != "Checking…"
    assert page.locator("#username-status[aria-live=polite]").count() == 1
    tab_to(page, "#email")
    page.keyboard.type("not-an-email", delay=10)
    tab_to(page, "#password")
    page.keyboard.type("short", delay=10)
    page.keyboard.press("Enter")  # the boosted form swaps the page

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    first_invalid = page.locator('main [aria-invalid="true"]').first
    expect(first_invalid).to_be_focused()
    assert active(page).startswith("input#username")
    screenshot("signup-keyboard-error-summary")

    # The summary is one Shift+Tab away; its link to the email field takes focus there.
    tab_to(page, '[data-error-summary] a[href="#email"]', back=True, limit=10)
    page.keyboard.press("Enter")
    expect(page.locator("#email")).to_be_focused()

    retype(page, "grace@example.com")
    tab_to(page, "#username", back=True, limit=10)
    retype(page, "grace_h")
    expect(status).to_contain_text("“grace_h” is available.")
    tab_to(page, "#password")
    retype(page, "analytical engine 1843")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/auth/verify$"))
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    # Focus moves once the swap settles: wait for it (a timeout fails the test), then say where it is.
    page.wait_for_function("document.activeElement && document.activeElement !== document.body")
    assert active(page) != "body"
    # The refused submit is a 400 the browser logs; nothing else may be.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


@pytest.fixture
def shop(app):
    with app.app_context():
        return ids(catalog())


def test_check_out_a_plan_and_cancel_it_at_period_end_with_the_keyboard(app, live_server, page, user, shop):
    browser_sign_in(app, page, live_server, user)
    add_to_cart(page, live_server, shop["crm_team"])
    page.goto(live_server.url("/cart"))
    tab_to(page, 'a.btn-primary[href$="/checkout"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/checkout$"))

    tab_to(page, "#pm-card, #pm-bank")
    tab_to(page, "#card_number")
    page.keyboard.type("4242 4242 4242 4242", delay=5)
    page.keyboard.press("Tab")
    assert active(page).startswith("input#card_expiry")
    page.keyboard.type("12/34")
    page.keyboard.press("Tab")
    page.keyboard.type("123")
    page.keyboard.press("Tab")
    assert active(page).startswith("input#card_name")
    page.keyboard.type("Ada Lovelace")
    tab_to(page, "button[type=submit][data-busy]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/checkout/complete/"))
    expect(page.get_by_role("heading", name="Payment received. Thank you!")).to_be_visible()

    tab_to(page, 'main a.btn-primary[href$="/subscriptions/"]')
    page.keyboard.press("Enter")  # a boosted link: focus goes to the new page's heading
    page.wait_for_url(re.compile(r"/subscriptions/$"))
    expect(page.locator("main h1")).to_be_focused()
    card = page.locator("article.sub-card", has_text="Pipeline CRM")
    page.once("dialog", lambda dialog: dialog.accept())
    tab_to(page, "article.sub-card details.cancel-menu:not(.pause-menu) > summary")
    page.keyboard.press("Enter")  # opens the cancel menu
    expect(card.locator("details.cancel-menu:not(.pause-menu)")).to_have_attribute("open", "")
    tab_to(page, "details.cancel-menu:not(.pause-menu) form:has(input[name=when][value=period_end]) button", limit=5)
    page.keyboard.press("Space")
    # The card is swapped in place (HTMX); focus lands in it, not on <body>.
    expect(card).to_contain_text(re.compile(r"will end on|Ends on", re.I))
    page.wait_for_function("() => document.activeElement && document.activeElement !== document.body")
    assert page.evaluate("() => !!document.activeElement.closest('article.sub-card')"), active(page)
    assert page.console_errors == []
