"""Signup → verification code on the high queue → verify → signed in, welcomed."""

import re
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.notification import Notification
from app.models.user import User
from tests.auth.conftest import code_in, delivered, last_code, queued_emails, queued_jobs, wrong
from tests.support.users import make_user

GOOD = {"username": "  Grace_H ", "email": "Grace@Example.com", "password": "analytical engine 1843"}


def _user(app, email="grace@example.com"):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def _actions(app):
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.created_at)).all()


def test_signup_creates_an_unverified_user_with_an_argon2id_hash_and_emails_a_code(app, client):
    response = client.post("/auth/signup", data=GOOD)
    assert response.status_code == 303 and response.headers["Location"].endswith("/auth/verify")
    user = _user(app)
    assert user.username == "grace_h" and user.email == "grace@example.com"
    assert user.email_verified_at is None and user.role.name == "customer"
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    [job] = queued_jobs(app)
    assert job["func"] == "jobs.auth.send_code" and job["queue"] == "high"
    [message] = delivered(app, "verification_code")
    assert message.to == "grace@example.com" and "Hi grace_h," in message.text
    assert len(code_in(message.text)) == 6
    assert "user.signup" in _actions(app)
    page = client.get("/auth/verify")
    assert "g•••@example.com" in page.text


def test_the_right_code_verifies_signs_in_and_sends_the_welcome_on_default(app, client):
    client.post("/auth/signup", data=GOOD)
    response = client.post("/auth/verify", data={"code": last_code(app, "verification_code")})
    assert response.status_code == 303
    assert _user(app).email_verified_at is not None
    home = client.get("/")
    assert "grace_h" in home.text and 'action="/auth/logout"' in home.text
    [welcome] = queued_emails(app, "welcome")
    assert welcome["queue"] == "default" and welcome["context"]["name"] == "grace_h"
    assert welcome["context"]["catalog_url"].startswith("http")
    with app.app_context():
        assert db.session.scalar(sa.select(Notification.kind)) == "welcome"
    assert {"user.email_verified", "auth.login"} <= set(_actions(app))


def test_welcome_is_delivered_by_the_worker_greeting_the_user(app, client, smtp_sink, run_jobs):
    client.post("/auth/signup", data=GOOD)
    run_jobs()
    code = code_in(smtp_sink.text(smtp_sink.wait_for(1)[0]))
    client.post("/auth/verify", data={"code": code})
    run_jobs()
    welcome = smtp_sink.wait_for(2)[1]
    assert "Welcome, grace_h!" in smtp_sink.text(welcome)


def test_welcome_falls_back_to_the_first_name_without_a_username(app):
    from app.auth.services import send_welcome

    with app.test_request_context():
        user = make_user(email="nousername@example.test", first_name="Grace")
        user.username = ""  # e.g. an account created by social login before choosing one
        send_welcome(user)
        db.session.commit()
    assert queued_emails(app, "welcome")[0]["context"]["name"] == "Grace"


def test_a_wrong_code_is_explained_next_to_the_field_and_signs_nobody_in(app, client):
    client.post("/auth/signup", data=GOOD)
    response = client.post("/auth/verify", data={"code": wrong(last_code(app, "verification_code"))})
    assert response.status_code == 401
    assert 'id="code-error"' in response.text and "wrong or has expired" in response.text
    assert _user(app).email_verified_at is None
    assert "auth/logout" not in client.get("/").text


def test_resend_is_refused_inside_the_cooldown_with_retry_after(app, client):
    client.post("/auth/signup", data=GOOD)
    response = client.post("/auth/verify/resend")
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 60
    assert "wait" in response.text
    assert len(delivered(app, "verification_code")) == 1


def test_resend_after_the_cooldown_sends_a_new_code_and_only_that_one_works(app, client, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    client.post("/auth/signup", data=GOOD)
    first = last_code(app, "verification_code")
    time_machine.shift(timedelta(seconds=61))
    assert client.post("/auth/verify/resend").status_code == 303
    second = last_code(app, "verification_code")
    assert len(delivered(app, "verification_code")) == 2
    assert client.post("/auth/verify", data={"code": first}).status_code == 401
    assert client.post("/auth/verify", data={"code": second}).status_code == 303


def test_signup_with_a_registered_email_looks_the_same_and_tells_the_owner_instead(app, client):
    with app.app_context():
        make_user(username="grace", email="grace@example.com")
    response = client.post("/auth/signup", data={**GOOD, "username": "someone_else"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/auth/verify")
    assert "g•••@example.com" in client.get("/auth/verify").text
    [notice] = delivered(app)
    assert (notice.kind, notice.to) == ("signup_attempt", "grace@example.com")
    assert "Someone tried to create a new MultiProduct account with this email address" in notice.text
    assert not re.search(r"\b\d{6}\b", notice.text)  # no code for the stranger to ask about
    assert _user(app).username == "grace"
    wrong_code = client.post("/auth/verify", data={"code": "123456"})
    assert wrong_code.status_code == 401
    assert client.post("/auth/verify/resend").status_code == 429  # the same cooldown as a new account's


def test_signup_with_the_address_of_an_unverified_account_sends_its_owner_a_code(app, client):
    with app.app_context():
        make_user(username="grace", email="grace@example.com", verified=False)
    client.post("/auth/signup", data={**GOOD, "username": "someone_else"})
    [message] = delivered(app)
    assert (message.kind, message.to) == ("verification_code", "grace@example.com")
    assert "Hi grace," in message.text
    assert _user(app).username == "grace"  # nothing of the second signup was kept


def test_a_username_registered_since_the_cached_check_is_explained_next_to_the_field(app, client):
    client.get("/auth/check-username?username=grace_h", headers={"HX-Request": "true"})  # cached: available
    with app.app_context():
        make_user(username="grace_h", email="someone@example.com")  # by another process, behind the cache
    response = client.post("/auth/signup", data=GOOD)
    assert response.status_code == 400
    assert 'id="username-error"' in response.text and "just taken" in response.text
    assert _user(app) is None and queued_jobs(app) == []


def test_a_phone_given_at_signup_is_stored_in_e164(app, client):
    client.post("/auth/signup", data={**GOOD, "phone": "+1 (415) 555-0100"})
    assert _user(app).phone == "+14155550100"


def test_a_taken_username_is_explained_next_to_the_field(app, client):
    with app.app_context():
        make_user(username="grace_h")
    response = client.post("/auth/signup", data=GOOD)
    assert response.status_code == 400
    assert 'id="username-error"' in response.text and "taken" in response.text
    assert 'class="chip"' in response.text  # with the suggestions
    assert _user(app) is None


def test_password_policy_failures_are_explained_next_to_the_password(client, app):
    cases = {
        "short12": "at least 10 characters",
        "x" * 129: "at most 128 characters",
        "password123": "commonly used",
        "Grace@Example.com": "can't be your username or email",
        "grace_h_grace_h": None,
    }
    for password, expected in cases.items():
        response = client.post("/auth/signup", data={**GOOD, "password": password})
        if expected is None:
            assert response.status_code == 303
        else:
            assert response.status_code == 400, password
            assert 'id="password-error"' in response.text and expected in response.text.replace("&#39;", "'")
    assert [u.username for u in [_user(app)]] == ["grace_h"]


def test_the_username_as_password_is_refused(client, app):
    response = client.post("/auth/signup", data={**GOOD, "username": "longusername1", "password": "LongUserName1"})
    assert response.status_code == 400 and "username or email" in response.text
