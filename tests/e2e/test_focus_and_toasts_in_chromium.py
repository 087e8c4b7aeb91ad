"""Where focus goes after an HTMX swap, and how toasts behave (issue 13), driven by the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import LiveServer, log_in
from tests.support.users import DEFAULT_PASSWORD

pytestmark = pytest.mark.e2e


def focused(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement; return e === document.body ? 'body' : "
        "e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ':' + (e.textContent || '').trim().slice(0, 40); }"
    )


def test_a_refused_form_puts_focus_on_the_first_field_in_error(live_server, page):
    page.goto(live_server.url("/auth/signup"))
    page.get_by_label("Username").fill("ab")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_label("Password").press("Enter")  # the boosted form swaps the page
    invalid = page.locator('[aria-invalid="true"]').first
    expect(invalid).to_be_focused()
    assert focused(page) != "body"


def test_a_boosted_link_moves_focus_to_the_new_pages_heading(live_server, page):
    page.goto(live_server.url("/"))
    page.get_by_role("link", name="Products", exact=True).first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url("/products/"))
    expect(page.locator("main h1")).to_be_focused()


def test_an_error_toast_stays_until_dismissed_and_esc_dismisses_it(live_server, page):
    page.clock.install()
    page.goto(live_server.url("/"))
    # An HTMX request that fails answers with an error toast in the toast area.
    page.evaluate("htmx.ajax('GET', '/no-such-page', {target: 'main'})")
    toast = page.locator(".toasts .toast-error")
    expect(toast).to_be_visible()
    page.clock.run_for(60_000)
    expect(toast).to_be_visible()  # an error waits for the person to read it
    page.keyboard.press("Escape")
    page.clock.run_for(1_000)
    expect(toast).to_have_count(0)


def test_a_passing_toast_pauses_while_hovered_and_leaves_after(live_server, page):
    page.clock.install()
    page.goto(live_server.url("/"))
    page.evaluate(
        "() => { const t = document.createElement('div'); t.className = 'toast toast-success';"
        " t.dataset.autodismiss = '6000'; t.textContent = 'Saved';"
        " document.getElementById('toasts').appendChild(t); htmx.trigger(document.body, 'htmx:oobAfterSwap'); }"
    )
    toast = page.locator(".toasts .toast-success")
    toast.hover()
    page.clock.run_for(20_000)
    expect(toast).to_be_visible()
    page.mouse.move(5, 5)
    page.clock.run_for(7_000)
    expect(toast).to_have_count(0)


def test_the_print_button_shows_only_with_javascript(browser, csrf_app, world):
    server = LiveServer(csrf_app).start()
    invoice = server.url(f"/invoices/{world.args['invoice_id']}")
    try:
        for javascript in (False, True):
            context = browser.new_context(java_script_enabled=javascript)
            page = context.new_page()
            log_in(page, server, "buyer", DEFAULT_PASSWORD)  # the buyer has a second factor: the helper passes it
            page.goto(invoice)
            assert page.locator("[data-print]").count() == 1
            assert page.locator("[data-print]").is_visible() is javascript
            context.close()
    finally:
        server.stop()


CONTRAST = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => [r, g, b].map(channel)
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let bg = null;
  for (let e = el.parentElement; e && !bg; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') bg = c;
  }
  const style = getComputedStyle(el);
  const [a, b] = [lum(rgb(style.outlineColor)), lum(rgb(bg || 'rgb(255, 255, 255)'))].sort((x, y) => y - x);
  return {style: style.outlineStyle, width: parseFloat(style.outlineWidth), ratio: (a + 0.05) / (b + 0.05)};
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_button_and_link_reached_by_tab_shows_a_focus_ring_of_3_to_1(live_server, page, theme):
    page.emulate_media(color_scheme=theme)
    page.goto(live_server.url("/"))
    seen = 0
    for _ in range(12):
        page.keyboard.press("Tab")
        element = page.evaluate_handle("document.activeElement")
        if page.evaluate("(e) => e === document.body", element):
            continue
        ring = page.evaluate(CONTRAST, element)
        label = page.evaluate("(e) => e.outerHTML.slice(0, 80)", element)
        assert ring["style"] != "none" and ring["width"] >= 2, label
        assert ring["ratio"] >= 3, (label, ring)
        seen += 1
    assert seen >= 8
