"""Every kind of notification has its own icon: none falls back to the generic bell."""

import re

import pytest

from app.mail.kinds import KINDS
from app.notifications.broadcast import KIND as BROADCAST_KIND

NOTIFICATION_KINDS = sorted({*KINDS, BROADCAST_KIND})


@pytest.fixture
def icons(app):
    with app.app_context():
        yield app.jinja_env.get_template("notifications/_icon.html").module


def _drawing(svg: str) -> str:
    return re.sub(r"\s+", " ", svg).strip()


@pytest.mark.parametrize("kind", NOTIFICATION_KINDS)
def test_every_notification_kind_has_an_icon_of_its_own(icons, kind):
    assert kind in icons.ICONS, f"{kind} has no icon in templates/notifications/_icon.html"
    name, tone = icons.ICONS[kind]
    # A name the svg macro doesn't draw falls through to the bell: that is no icon of its own.
    assert name != "bell" and _drawing(icons.svg(name)) != _drawing(icons.svg("no-such-icon")), kind
    assert tone in {"brand", "success", "warning", "danger", "info", "neutral"}
    assert f"tone-{tone}" in icons.kind_icon(kind)


def test_an_unknown_kind_still_gets_the_bell(icons):
    assert _drawing(icons.svg("bell")) in _drawing(icons.kind_icon("something_new"))
