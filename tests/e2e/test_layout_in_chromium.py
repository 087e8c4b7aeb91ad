import pytest

pytestmark = pytest.mark.e2e


def test_home_page_loads_in_chromium_without_csp_violations(live_server, page, screenshot):
    page.goto(live_server.url("/"))
    assert page.locator("header.site-header .brand").inner_text().strip() == "MultiProduct"
    assert page.locator("footer.site-footer").is_visible()
    # htmx loaded (with its nonce) and configured from the meta tag.
    assert page.evaluate("window.htmx && htmx.version") == "2.0.11"
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    screenshot("home")
    assert page.console_errors == []


def test_error_page_in_chromium_is_friendly(live_server, page):
    response = page.goto(live_server.url("/missing"))
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.console_errors == [] or all("404" in e for e in page.console_errors)
