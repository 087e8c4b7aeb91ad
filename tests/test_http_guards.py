"""What a request may carry: form bodies only (415 otherwise), 1 MB at most (413), ids a column can hold (404),
and Retry-After only where it means something (429, 503)."""

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.outbox import OutboxMessage
from app.models.user import Role, User, UserSession
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

NON_STRINGS = {
    "identifier": 1,
    "password": [1, 2],
    "email": None,
    "username": {"a": 1},
    "phone": 5.5,
    "code": 123456,
    "remember": {"x": [None]},
}


def _counts(app):
    with app.app_context():
        return tuple(
            db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, UserSession, OutboxMessage)
        )


@pytest.mark.parametrize("url", ["/auth/login", "/auth/signup", "/auth/login/code", "/auth/password-reset"])
def test_json_with_non_string_values_on_the_identity_forms_is_a_415_and_changes_nothing(app, client, url):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    before = _counts(app)
    for body in (
        NON_STRINGS,
        [1, 2],
        5,
        None,
        {"email": "ada@example.com", "identifier": "ada", "password": DEFAULT_PASSWORD},
    ):
        response = client.post(url, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 415, body
        assert "takes a form from its page" in response.text
    assert _counts(app) == before


def test_the_same_form_posted_as_a_form_still_works(app, client):
    with app.app_context():
        make_user(username="ada")
    response = client.post("/auth/login", data={"identifier": "ada", "password": DEFAULT_PASSWORD})
    assert response.status_code == 303


def test_an_htmx_post_of_json_gets_the_error_as_a_toast(client):
    response = client.post("/auth/login", data="{}", content_type="application/json", headers={"HX-Request": "true"})
    assert response.status_code == 415 and response.headers["HX-Retarget"] == "#toasts"


def test_a_body_over_1_mb_is_refused_with_413(app, client):
    before = _counts(app)
    response = client.post(
        "/auth/signup",
        data={
            "username": "big",
            "email": "big@example.com",
            "password": "a long unusual passphrase",
            "phone": "1" * 1_100_000,
        },
    )
    assert response.status_code == 413 and "more than this address accepts" in response.text
    assert _counts(app) == before


@pytest.fixture
def admin(app):
    client = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username="boss", role="admin"))
        target = make_user(username="target")
        return client, target.id


@pytest.mark.parametrize("role_id", ["99999999999999999999", str(2**31), str(2**63), "0", "007"])
def test_an_integer_id_no_row_can_have_is_a_404_for_every_method(admin, role_id):
    client, _ = admin
    assert client.get(f"/admin/roles/{role_id}").status_code == 404
    assert client.post(f"/admin/roles/{role_id}", data={"name": "x"}).status_code == 404


def test_the_largest_id_postgres_holds_is_still_looked_up(admin):
    client, _ = admin
    assert client.get(f"/admin/roles/{2**31 - 1}").status_code == 404  # asked, and not found
    assert client.get("/admin/roles/1").status_code == 200


@pytest.mark.parametrize("role_id", [str(2**31), "99999999999999999999", "9" * 5000, "-1", "1.0", "", "٣"])
def test_a_role_id_in_a_form_that_no_row_can_have_is_a_message_on_the_field(app, admin, role_id):
    client, target = admin
    response = client.post(f"/admin/users/{target}/role", data={"role_id": role_id})
    assert response.status_code == 400 and "Choose one of the roles." in response.text
    with app.app_context():
        assert db.session.get(User, target).role_id == db.session.scalar(
            sa.select(Role.id).where(Role.name == "customer")
        )


def test_retry_after_is_sent_only_with_a_429(make_app):
    limited_app = make_app(RATELIMIT_ENABLED=True)
    with limited_app.app_context():
        make_user(username="ada")
    client = limited_app.test_client()
    check = client.get("/auth/check-username?username=newname", headers={"HX-Request": "true"})
    assert check.status_code == 200 and "X-RateLimit-Limit" in check.headers and "Retry-After" not in check.headers
    wrong = client.post("/auth/login", data={"identifier": "ada", "password": "not the password"})
    assert wrong.status_code == 401 and "Retry-After" not in wrong.headers
    for _ in range(9):
        client.post("/auth/login", data={"identifier": "ada", "password": "not the password"})
    limited = client.post("/auth/login", data={"identifier": "ada", "password": "not the password"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
