"""The CSP (no inline styles or scripts) holds in Chromium: the page fixture fails any browser
test on a violation, and what people do to a page never makes htmx write an inline style."""

import pytest

from tests.support.browser import csp_violations, log_in
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e


def test_the_page_fixture_sees_a_blocked_inline_style(live_server, page):
    page.goto(live_server.url("/"))
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("getComputedStyle(document.body).color !== 'rgb(255, 0, 0)'")
    page.wait_for_timeout(200)  # the report is asynchronous
    assert any("style-src" in v for v in csp_violations(page))
    page.csp_events.clear()  # proven; this test's own violation must not fail it
    page.console_errors.clear()


def test_a_resized_textarea_survives_a_boosted_re_render_without_an_inline_style(app, live_server, page):
    """Resizing a textarea gives it a style attribute; htmx used to copy it onto the new page."""
    with app.app_context():
        make_user(username="root", role="admin")
    log_in(page, live_server, "root", DEFAULT_PASSWORD)
    page.goto(live_server.url("/admin/announcements"))

    page.get_by_label("Title").fill("Maintenance on Sunday")
    message = page.get_by_label("Message")
    message.fill("We upgrade the database on Sunday at 02:00 UTC.")
    box = message.bounding_box()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)  # the resize grip
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] + 120, steps=5)
    page.mouse.up()
    assert "height" in (message.get_attribute("style") or "")

    page.get_by_role("button", name="Preview").click()  # a boosted POST: the body is swapped
    page.locator(".card", has_text="Maintenance on Sunday").get_by_role("heading", name="Preview").wait_for()
    page.wait_for_timeout(300)  # htmx settles 20 ms after the swap
    assert csp_violations(page) == []
