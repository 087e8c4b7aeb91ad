"""Password reset: the same answer for every address; a signed one-hour, one-use link."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.passwords import verify_password
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.user import User, UserSession
from tests.auth.conftest import delivered, queued_emails, queued_jobs, reset_link
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

NEW = "a brand new passphrase"


@pytest.fixture
def ada(app):
    with app.app_context():
        return make_user(username="ada", email="ada@example.com").id


def _password_ok(app, user_id, password) -> bool:
    with app.app_context():
        return verify_password(db.session.get(User, user_id).password_hash, password)


def test_the_request_answers_the_same_whether_or_not_the_address_exists(app, client, ada):
    known = client.post("/auth/password-reset", data={"email": "ada@example.com"})
    unknown = client.post("/auth/password-reset", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200

    def same(text, email):  # without the nonce and the CSRF token (timestamped: it changes each second)
        text = re.sub(r'"X-CSRFToken": "[^"]*"', "", re.sub(r'nonce="[^"]+"', "", text))
        return text.replace(email, "X")

    assert same(known.text, "ada@example.com") == same(unknown.text, "nobody@example.com")
    assert queued_jobs(app) == [
        {"func": "jobs.auth.send_password_reset", "queue": "high", "args": [email], "kwargs": {}}
        for email in ("ada@example.com", "nobody@example.com")
    ]
    [message] = delivered(app)  # only the address with an account gets a link
    assert (message.kind, message.to) == ("password_reset", "ada@example.com")
    assert "Hi ada," in message.text and "expires in 60 minutes" in message.text


def test_the_link_sets_a_new_password_ends_sessions_and_sends_the_notice(app, client, ada):
    other_browser = app.test_client()
    with app.app_context():
        sign_in(other_browser, db.session.get(User, ada))
    client.post("/auth/password-reset", data={"email": "ada@example.com"})
    link = reset_link(app)
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": NEW})
    assert response.status_code == 303 and response.headers["Location"].endswith("/auth/login")
    assert _password_ok(app, ada, NEW) and not _password_ok(app, ada, DEFAULT_PASSWORD)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(UserSession).where(UserSession.revoked_at.is_(None))
            )
            == 0
        )
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "password.reset"))
    assert 'action="/auth/logout"' not in other_browser.get("/").text
    [notice] = queued_emails(app, "password_changed")
    assert set(notice["context"]) == {"name", "when", "ip", "reset_url"} and notice["context"]["ip"] == "127.0.0.1"
    assert client.post("/auth/login", data={"identifier": "ada", "password": NEW}).status_code == 303


def test_a_used_link_is_dead(app, client, ada):
    client.post("/auth/password-reset", data={"email": "ada@example.com"})
    link = reset_link(app)
    client.post(link, data={"password": NEW})
    again = client.post(link, data={"password": "yet another passphrase"})
    assert again.status_code == 400 and "no longer works" in again.text
    assert _password_ok(app, ada, NEW)


def test_a_link_dies_when_the_password_changes_another_way(app, client, ada):
    client.post("/auth/password-reset", data={"email": "ada@example.com"})
    link = reset_link(app)
    signed_in = app.test_client()
    with app.app_context():
        sign_in(signed_in, db.session.get(User, ada))
    signed_in.post("/account/password", data={"current_password": DEFAULT_PASSWORD, "password": NEW})
    assert client.get(link).status_code == 400
    assert client.post(link, data={"password": "attacker passphrase!"}).status_code == 400
    assert _password_ok(app, ada, NEW)


def test_a_link_expires_after_an_hour(app, client, ada, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    client.post("/auth/password-reset", data={"email": "ada@example.com"})
    link = reset_link(app)
    time_machine.shift(timedelta(minutes=59))
    assert client.get(link).status_code == 200
    time_machine.shift(timedelta(minutes=2))
    response = client.get(link)
    assert response.status_code == 400 and "expire after an hour" in response.text
    assert client.post(link, data={"password": NEW}).status_code == 400
    assert _password_ok(app, ada, DEFAULT_PASSWORD)


def test_a_tampered_link_is_refused(app, client, ada):
    client.post("/auth/password-reset", data={"email": "ada@example.com"})
    link = reset_link(app)
    assert client.get(link[:-3] + "abc").status_code == 400
    assert client.get("/auth/password-reset/not-a-token").status_code == 400
    assert client.get("/auth/password-reset/%00%27%20OR%201=1").status_code == 400


def test_the_new_password_must_meet_the_policy(app, client, ada):
    client.post("/auth/password-reset", data={"email": "ada@example.com"})
    link = reset_link(app)
    response = client.post(link, data={"password": "qwertyuiop"})
    assert response.status_code == 400 and 'id="password-error"' in response.text
    assert _password_ok(app, ada, DEFAULT_PASSWORD)
    assert client.get(link).status_code == 200  # a refused attempt doesn't burn the link


def test_resetting_while_signed_in_on_this_browser_keeps_this_session(app, client, ada):
    with app.app_context():
        sign_in(client, db.session.get(User, ada))
    client.post("/auth/password-reset", data={"email": "ada@example.com"})
    client.post(reset_link(app), data={"password": NEW})
    assert 'action="/auth/logout"' in client.get("/").text
