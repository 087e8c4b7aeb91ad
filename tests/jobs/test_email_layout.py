"""The branded layout survives mail clients that strip <style>, and keeps its dark mode."""

import re

import pytest

from app.mail.kinds import KINDS, SAMPLES
from app.mail.services import render_email


def without_style_tags(html: str) -> str:
    return re.sub(r"<style.*?</style>", "", html, flags=re.S)


def style_of(html: str, pattern: str) -> str:
    match = re.search(pattern + r'[^>]*style="([^"]*)"', html)
    assert match, f"no inline style on {pattern}"
    return match.group(1)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_keeps_its_design_when_a_client_strips_style_tags(app, kind):
    with app.app_context():
        _, _, html = render_email(kind, SAMPLES[kind])
    stripped = without_style_tags(html)

    assert "background-color: #ffffff" in style_of(stripped, r'<table class="card"')
    assert "background-color: #4f46e5" in style_of(stripped, r'<td class="head"')
    assert "color: #141a2a" in style_of(stripped, "<h1")
    for button in re.findall(r'<a class="button"[^>]*>', stripped):
        assert "background-color: #4f46e5" in button and "color: #ffffff" in button
    if 'class="code"' in stripped:
        assert "letter-spacing: 8px" in style_of(stripped, r'<p class="code"')


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_only_the_media_queries_stay_in_the_style_tag(app, kind):
    with app.app_context():
        _, _, html = render_email(kind, SAMPLES[kind])
    [style] = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert "@media (prefers-color-scheme: dark)" in style and "@media (max-width: 600px)" in style
    outside_media = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", style)
    assert outside_media.strip() == ""
    assert '<meta name="color-scheme" content="light dark">' in html
