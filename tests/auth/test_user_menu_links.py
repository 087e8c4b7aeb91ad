"""The account menu names who is signed in (name, then the email on its own line) and links to
every page about their account."""

import re

import pytest

from app.extensions import db
from tests.support.users import make_user, sign_in


def _menu_as(app, role):
    client = app.test_client()
    with app.app_context():
        user = make_user(
            username=f"{role}_menu", email=f"{role}@example.com", role=role, first_name="Grace", last_name="Hopper"
        )
        sign_in(client, user)
        db.session.expunge(user)
    page = client.get("/products/").text
    return re.search(r'<details class="menu user-menu".*?</details>', page, re.S).group(0)


def test_the_menu_header_shows_the_name_and_the_email_on_separate_lines(app):
    menu = _menu_as(app, "customer")
    assert '<strong class="menu-who-name">Grace Hopper</strong>' in menu
    assert '<span class="menu-who-email">customer@example.com</span>' in menu


def test_the_menu_links_to_profile_subscriptions_invoices_payment_method_and_security(app):
    menu = _menu_as(app, "customer")
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', menu)
    assert links == [
        ("/account/profile", "Profile"),
        ("/subscriptions/", "Subscriptions"),
        ("/invoices/", "Invoices"),
        ("/payment-method", "Payment method"),
        ("/account/security", "Security"),
    ]
    assert re.search(r'<button type="submit">Log out</button>', menu)


@pytest.mark.parametrize("role", ["admin", "support"])
def test_staff_also_get_the_admin_link_before_log_out(app, role):
    menu = _menu_as(app, role)
    assert '<a href="/admin/">Admin</a>' in menu
    assert menu.index(">Security<") < menu.index(">Admin<") < menu.index("Log out")


def test_the_menu_is_a_disclosure_not_an_aria_menu(app):
    """<details> opens without JavaScript; no role="menu" promising arrow keys that only JS gives."""
    menu = _menu_as(app, "customer")
    assert "data-menu" in menu and "<summary>" in menu
    assert 'role="menu' not in menu
