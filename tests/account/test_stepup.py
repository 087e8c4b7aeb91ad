"""Step-up: a sensitive change needs an authentication in the last 10 minutes (ASVS V7.5.1).

A session restored from the remember-me cookie is signed in but has not authenticated
recently (`sign_in(..., recent=False)`); it is sent to /account/confirm and back.
"""

import time

import sqlalchemy as sa

from app.auth import stepup
from app.extensions import db
from app.models.audit import AuditEvent
from tests.auth.conftest import delivered, last_code, wrong
from tests.support.mfa import pass_second_step_over_http
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

ROLE_FORM = "/admin/roles/new"


def _admin_client(app, client, *, recent: bool):
    with app.app_context():
        admin = make_user(username="root", role="admin")
        sign_in(client, admin, recent=recent)
    return client


def test_a_remembered_session_is_asked_to_confirm_before_a_staff_role_form(app, client):
    _admin_client(app, client, recent=False)
    page = client.get(ROLE_FORM)
    assert page.status_code == 303
    assert page.headers["Location"] == "/account/confirm?next=/admin/roles/new"
    confirm = client.get(page.headers["Location"])
    assert confirm.status_code == 200
    assert "Confirm it’s you" in confirm.text and 'autocomplete="current-password"' in confirm.text


def test_the_right_password_returns_to_the_page_and_lasts_ten_minutes(app, client):
    _admin_client(app, client, recent=False)
    back = client.post("/account/confirm?next=/admin/roles/new", data={"password": DEFAULT_PASSWORD})
    assert back.status_code == 303 and back.headers["Location"] == ROLE_FORM
    assert client.get(ROLE_FORM).status_code == 200
    with client.session_transaction() as flask_session:
        flask_session[stepup.STAMP] = int(time.time()) - 10 * 60 - 1
    assert client.get(ROLE_FORM).status_code == 303


def test_a_wrong_password_is_refused_beside_the_field_and_confirms_nothing(app, client):
    _admin_client(app, client, recent=False)
    refused = client.post("/account/confirm?next=/admin/roles/new", data={"password": "not-my-password"})
    assert refused.status_code == 401
    assert "That password isn’t right." in refused.text and 'aria-invalid="true"' in refused.text
    assert client.get(ROLE_FORM).status_code == 303
    with app.app_context():
        kinds = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "auth.reauth_failed" in kinds and "auth.reauthenticated" not in kinds


def test_a_post_without_recent_authentication_changes_nothing_and_returns_to_its_form(app, client):
    _admin_client(app, client, recent=False)
    response = client.post(
        ROLE_FORM,
        data={"name": "auditor", "description": "Reads"},
        headers={"Referer": "http://localhost/admin/roles/new"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/confirm?next=/admin/roles/new"
    assert "auditor" not in client.get("/admin/roles").text


def test_an_htmx_request_is_sent_to_confirm_as_a_whole_page(app, client):
    _admin_client(app, client, recent=False)
    response = client.get(ROLE_FORM, headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/account/confirm?next=/admin/roles/new"


def test_signing_in_with_the_login_form_counts_as_recent(app, client):
    with app.app_context():
        make_user(username="root", email="root@example.com", role="admin")
    client.post("/auth/login", data={"identifier": "root", "password": DEFAULT_PASSWORD})
    pass_second_step_over_http(client)  # staff have an authenticator app
    assert client.get(ROLE_FORM).status_code == 200


def test_confirm_never_sends_the_person_to_another_site(app, client):
    _admin_client(app, client, recent=False)
    back = client.post("/account/confirm?next=//evil.example/x", data={"password": DEFAULT_PASSWORD})
    assert back.headers["Location"] == "/account/profile"


def test_an_account_without_a_password_confirms_with_an_emailed_code(app, client):
    enroll = "/account/security/totp"  # a step-up page this customer may open (staff would need a factor first)
    with app.app_context():
        social = make_user(username="sol", email="sol@example.com", password=None)
        sign_in(client, social, recent=False)
    page = client.get(f"/account/confirm?next={enroll}")
    assert "Email me a code" in page.text and 'name="password"' not in page.text
    sent = client.post(f"/account/confirm/code/send?next={enroll}")
    assert sent.status_code == 200 and 'name="code"' in sent.text
    code = last_code(app, "reauth_code")
    assert delivered(app, "reauth_code")[-1].to == "sol@example.com"
    refused = client.post(f"/account/confirm/code?next={enroll}", data={"code": wrong(code)})
    assert refused.status_code == 401 and client.get(enroll).status_code == 303
    back = client.post(f"/account/confirm/code?next={enroll}", data={"code": code})
    assert back.status_code == 303 and back.headers["Location"] == enroll
    assert client.get(enroll).status_code == 200


def test_the_confirm_page_needs_a_signed_in_person(client):
    assert client.get("/account/confirm").status_code in (302, 303)
    assert client.post("/account/confirm", data={"password": "x"}).status_code in (302, 303)


def test_an_account_with_a_password_cannot_swap_it_for_an_emailed_code(app, client):
    _admin_client(app, client, recent=False)
    response = client.post("/account/confirm/code/send?next=/admin/roles/new")
    assert response.status_code == 303 and response.headers["Location"] == "/account/confirm?next=/admin/roles/new"
    assert client.post("/account/confirm/code", data={"code": "123456"}).status_code == 303
    assert client.get(ROLE_FORM).status_code == 303
