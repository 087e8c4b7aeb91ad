"""The navbar's user menu, and the slot for the social-login buttons."""

import pytest
from jinja2 import ChoiceLoader, DictLoader

from app.extensions import db
from tests.support.users import make_user, sign_in


def _page_as(app, role, path="/"):
    client = app.test_client()
    with app.app_context():
        user = make_user(username=f"{role}_user", role=role, first_name="Grace", last_name="Hopper")
        sign_in(client, user)
        db.session.expunge(user)
    return client.get(path).text


def test_the_user_menu_shows_initial_name_links_and_a_logout_form(app):
    page = _page_as(app, "customer")
    assert '<span class="avatar" aria-hidden="true">c</span>' in page
    assert "customer_user" in page and "Grace Hopper" in page
    assert 'href="/account/profile"' in page and 'href="/account/security"' in page
    assert '<form method="post" action="/auth/logout">' in page and 'name="csrf_token"' in page
    assert ">Admin<" not in page


@pytest.mark.parametrize("role, shown", [("admin", True), ("support", True), ("customer", False)])
def test_the_admin_link_shows_for_those_with_admin_access(app, role, shown):
    assert ('href="/admin/"' in _page_as(app, role)) is shown


def test_login_and_signup_include_the_social_buttons_when_they_exist(make_app):
    app = make_app()
    assert "social-slot" not in app.test_client().get("/auth/login").text
    app.jinja_loader = ChoiceLoader(
        [DictLoader({"auth/_social_buttons.html": '<div class="social-slot"></div>'}), app.jinja_loader]
    )
    app.jinja_env.cache = {}
    client = app.test_client()
    assert "social-slot" in client.get("/auth/login").text
    assert "social-slot" in client.get("/auth/signup").text
