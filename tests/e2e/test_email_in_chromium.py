"""Branded emails as a mail client shows them: light, dark, and with <style> stripped."""

import re

import pytest

from app.mail.kinds import SAMPLES
from app.mail.services import render_email

pytestmark = pytest.mark.e2e


def computed(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).{prop}")


@pytest.mark.parametrize("kind", ["payment_receipt", "verification_code"])
def test_emails_read_well_in_light_dark_and_style_stripping_clients(app, page, screenshot, kind):
    with app.app_context():
        _, _, html = render_email(kind, SAMPLES[kind])
    page.set_viewport_size({"width": 720, "height": 800})

    page.emulate_media(color_scheme="light")
    page.set_content(html)
    assert computed(page, "table.card", "backgroundColor") == "rgb(255, 255, 255)"
    assert computed(page, "h1", "color") == "rgb(20, 26, 42)"
    screenshot(f"email-{kind}-light")

    page.emulate_media(color_scheme="dark")
    assert computed(page, "table.card", "backgroundColor") == "rgb(20, 26, 39)"
    assert computed(page, "h1", "color") == "rgb(232, 235, 243)"
    assert computed(page, "a.brand", "color") == "rgb(255, 255, 255)"  # on the brand gradient
    screenshot(f"email-{kind}-dark")

    # A client that drops <style> (and so dark mode): still the light design, from inline styles.
    page.set_content(re.sub(r"<style.*?</style>", "", html, flags=re.S))
    assert computed(page, "table.card", "backgroundColor") == "rgb(255, 255, 255)"
    assert computed(page, "td.head", "backgroundColor") == "rgb(79, 70, 229)"
    if kind == "payment_receipt":
        assert computed(page, "a.button", "backgroundColor") == "rgb(79, 70, 229)"
        assert computed(page, "a.button", "color") == "rgb(255, 255, 255)"
    screenshot(f"email-{kind}-no-style")
    assert page.console_errors == []
