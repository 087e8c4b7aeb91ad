"""Login by email, username or phone + password, or by emailed code; logout."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.user import User, UserSession
from tests.auth.conftest import code_in, delivered, last_code, queued_jobs, wrong
from tests.support.users import DEFAULT_PASSWORD, make_user


@pytest.fixture
def ada(app):
    with app.app_context():
        user = make_user(username="ada", email="ada@example.com", phone="+14155550100", phone_verified_at=utcnow())
        return user.id


def _live_sessions(app, user_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        ).all()


def _signed_in(client) -> bool:
    return 'action="/auth/logout"' in client.get("/").text


def _audit(app, action):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize(
    "identifier", ["ada@example.com", " ADA@Example.com ", "ada", "Ada", "+1 415 555 0100", "(415) 555-0100"]
)
def test_login_by_email_username_or_phone(app, client, ada, identifier):
    response = client.post("/auth/login", data={"identifier": identifier, "password": DEFAULT_PASSWORD})
    assert response.status_code == 303
    assert _signed_in(client)
    [record] = _live_sessions(app, ada)
    assert record.ip == "127.0.0.1" and record.remember is False
    [event] = _audit(app, "auth.login")
    assert event.actor_id == ada and event.ip == "127.0.0.1" and event.request_id


def test_unknown_user_and_wrong_password_get_the_same_message(app, client, ada):
    unknown = client.post("/auth/login", data={"identifier": "nobody@example.com", "password": "whatever-it-is"})
    wrong_pw = client.post("/auth/login", data={"identifier": "ada", "password": "not the password"})
    assert unknown.status_code == wrong_pw.status_code == 401
    message = "don&#39;t match an account"
    assert message in unknown.text and message in wrong_pw.text
    assert 'id="password-error"' in unknown.text and 'id="password-error"' in wrong_pw.text
    assert not _signed_in(client)
    failures = _audit(app, "auth.login_failed")
    assert len(failures) == 2 and {str(f.target_id) for f in failures} == {"None", str(ada)}


def test_the_session_id_changes_at_login(app, client, ada):
    client.get("/auth/login")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    client.post("/auth/login", data={"identifier": "ada", "password": DEFAULT_PASSWORD})
    with client.session_transaction() as s:
        assert "planted" not in s
        session_id = s["_user_id"]
    assert session_id == str(_live_sessions(app, ada)[0].id)


def test_remember_me_sets_a_remember_cookie(app, client, ada):
    client.post("/auth/login", data={"identifier": "ada", "password": DEFAULT_PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    assert _live_sessions(app, ada)[0].remember is True


def test_logout_ends_the_session_server_side(app, client, ada):
    client.post("/auth/login", data={"identifier": "ada", "password": DEFAULT_PASSWORD, "remember": "y"})
    with client.session_transaction() as s:
        stolen = dict(s)
    assert client.get("/auth/logout").status_code == 405
    response = client.post("/auth/logout")
    assert response.status_code == 303 and not _signed_in(client)
    assert _live_sessions(app, ada) == []
    assert _audit(app, "auth.logout")[0].actor_id == ada
    # A copy of the old cookie no longer signs anyone in.
    with client.session_transaction() as s:
        s.update(stolen)
    assert not _signed_in(client)


def test_an_unverified_user_is_taken_to_verification(app, client):
    with app.app_context():
        make_user(username="newbie", email="newbie@example.com", verified=False)
    response = client.post("/auth/login", data={"identifier": "newbie", "password": DEFAULT_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"].endswith("/auth/verify")
    assert not _signed_in(client)
    code = last_code(app, "verification_code")
    client.post("/auth/verify", data={"code": code})
    assert _signed_in(client)


def test_a_deactivated_user_cannot_log_in(app, client):
    with app.app_context():
        make_user(username="gone", is_active=False)
    response = client.post("/auth/login", data={"identifier": "gone", "password": DEFAULT_PASSWORD})
    assert response.status_code == 401 and not _signed_in(client)


def test_next_is_followed_only_within_the_site(app, client, ada):
    ok = client.post("/auth/login?next=/account/sessions", data={"identifier": "ada", "password": DEFAULT_PASSWORD})
    assert ok.headers["Location"] == "/account/sessions"
    client.post("/auth/logout")
    evil = client.post("/auth/login?next=//evil.example/x", data={"identifier": "ada", "password": DEFAULT_PASSWORD})
    assert evil.headers["Location"] == "/"


def test_login_with_an_emailed_code(app, client, ada):
    response = client.post("/auth/login/code", data={"email": "ada@example.com"})
    assert response.status_code == 303 and "/auth/login/code/enter" in response.headers["Location"]
    assert [(j["func"], j["queue"]) for j in queued_jobs(app)] == [("jobs.auth.send_code", "high")]
    [message] = delivered(app, "login_code")
    assert message.to == "ada@example.com" and "Hi ada," in message.text
    code = code_in(message.text)
    bad = client.post("/auth/login/code/enter", data={"code": wrong(code)})
    assert bad.status_code == 401 and 'id="code-error"' in bad.text
    good = client.post("/auth/login/code/enter", data={"code": code})
    assert good.status_code == 303 and _signed_in(client)
    assert _audit(app, "auth.login")[0].after["method"] == "code"


def test_asking_a_code_for_an_unknown_address_looks_the_same_and_sends_nothing(app, client):
    response = client.post("/auth/login/code", data={"email": "nobody@example.com"})
    assert response.status_code == 303 and "/auth/login/code/enter" in response.headers["Location"]
    assert delivered(app) == []
    assert "If <strong>nobody@example.com</strong> has an account" in client.get("/auth/login/code/enter").text
    assert client.post("/auth/login/code/enter", data={"code": "123456"}).status_code == 401


def test_a_login_code_proves_the_email_of_an_unverified_account(app, client):
    with app.app_context():
        user_id = make_user(username="newbie", email="newbie@example.com", verified=False).id
    client.post("/auth/login/code", data={"email": "newbie@example.com"})
    client.post("/auth/login/code/enter", data={"code": last_code(app, "login_code")})
    with app.app_context():
        assert db.session.get(User, user_id).email_verified_at is not None


def test_pages_for_signed_in_users_send_anonymous_visitors_to_login(client):
    for path in ("/account/profile", "/account/sessions", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login?next=" in response.headers["Location"]


def test_with_csrf_on_the_login_form_works_with_its_token_and_fails_without(make_app):
    import re

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_user(username="ada")
    client = app.test_client()
    form = {"identifier": "ada", "password": DEFAULT_PASSWORD}
    refused = client.post("/auth/login", data=form)
    assert refused.status_code == 400 and "Your form expired" in refused.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/auth/login").text).group(1)
    assert client.post("/auth/login", data={**form, "csrf_token": token}).status_code == 303
