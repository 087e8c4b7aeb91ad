"""A form whose CSRF token expired offers "Try again": back to the form, with what was typed kept
except anything secret (passwords, card details, codes, tokens)."""

import re
import time

import pytest

from app.extensions import db
from app.models.user import User

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@pytest.fixture
def expiring_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=1)


def _token(page: str) -> str:
    match = TOKEN.search(page)
    assert match, "the page carries a CSRF token"
    return match.group(1) or match.group(2)


def _field_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, f"the form has a {name} field"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def _sign_up_too_late(client, **headers):
    token = _token(client.get("/auth/signup").text)
    time.sleep(2.1)  # the token is now older than WTF_CSRF_TIME_LIMIT
    form = {
        "csrf_token": token,
        "username": "late_lucy",
        "email": "lucy@example.com",
        "phone": "",
        "password": "correct horse battery staple",
    }
    return client.post("/auth/signup", data=form, headers=headers)


def test_an_expired_sign_up_form_offers_try_again_which_keeps_the_username_and_email_not_the_password(
    expiring_app,
):
    client = expiring_app.test_client()
    response = _sign_up_too_late(client, Referer="http://localhost/auth/signup")
    assert response.status_code == 400
    page = response.text
    assert "Your form expired" in page
    assert '<a class="btn btn-primary" href="/auth/signup">Try again</a>' in page
    serializer = expiring_app.session_interface.get_signing_serializer(expiring_app)
    kept = serializer.loads(client.get_cookie(expiring_app.config["SESSION_COOKIE_NAME"]).value)["_form_retry"]
    assert kept == {"path": "/auth/signup", "fields": [("username", "late_lucy"), ("email", "lucy@example.com")]}

    form = client.get("/auth/signup").text
    assert _field_value(form, "username") == "late_lucy"
    assert _field_value(form, "email") == "lucy@example.com"
    assert not _field_value(form, "password")
    assert "correct horse" not in form
    with expiring_app.app_context():
        assert db.session.query(User).filter_by(username="late_lucy").count() == 0  # nothing was saved

    again = client.get("/auth/signup").text  # kept for one visit only
    assert not _field_value(again, "username")


def test_without_a_referer_try_again_goes_to_the_forms_own_page(expiring_app):
    client = expiring_app.test_client()
    page = _sign_up_too_late(client).text
    assert 'href="/auth/signup">Try again</a>' in page
    assert _field_value(client.get("/auth/signup").text, "email") == "lucy@example.com"


def test_a_referer_from_another_site_is_not_followed(expiring_app):
    client = expiring_app.test_client()
    page = _sign_up_too_late(client, Referer="https://evil.example/auth/signup").text
    assert "evil.example" not in page
    assert 'href="/auth/signup">Try again</a>' in page


def test_an_htmx_request_gets_the_toast_with_the_same_offer(expiring_app):
    client = expiring_app.test_client()
    response = _sign_up_too_late(client, **{"HX-Request": "true", "Referer": "http://localhost/auth/signup"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#toasts"
    assert 'role="alert"' in response.text and "Your form expired" in response.text
    assert '<a class="toast-action" href="/auth/signup">Try again</a>' in response.text
    assert _field_value(client.get("/auth/signup").text, "username") == "late_lucy"


def test_a_post_only_address_sends_try_again_home(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    page = app.test_client().post("/cart/add", data={"plan_id": "x"}).text
    assert 'href="/">Try again</a>' in page


def test_secret_fields_are_never_kept():
    from werkzeug.datastructures import MultiDict

    from app.error_pages import safe_fields

    posted = MultiDict(
        [
            ("csrf_token", "t"),
            ("password", "p"),
            ("current_password", "p"),
            ("card_number", "4242 4242 4242 4242"),
            ("card_cvc", "123"),
            ("code", "123456"),
            ("idempotency_key", "k"),
            ("note", "4000 0000 0000 0002"),
            ("name", "Lucy"),
            ("permissions", "a"),
            ("permissions", "b"),
        ]
    )
    assert safe_fields(posted) == [("name", "Lucy"), ("permissions", "a"), ("permissions", "b")]
