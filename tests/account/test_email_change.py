"""Email change (ASVS V6.x): step-up, a code to the NEW address (1 hour, single use), the old one is told.

A taken address gets the same answer as a free one, and its owner is sent nothing.
"""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.otp import UserOTP
from app.models.user import User
from tests.auth.conftest import code_in, delivered, queued_jobs, wrong
from tests.support.users import make_user, sign_in

SENT = "We sent a code to"


def _ada(app, client, *, recent=True, **fields):
    with app.app_context():
        user = make_user(username="ada", email="ada@example.com", **fields)
        sign_in(client, user, recent=recent)
        return user.id


def _email(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def test_the_page_needs_a_recent_authentication(app, client):
    _ada(app, client, recent=False)
    page = client.get("/account/email")
    assert page.status_code == 303 and page.headers["Location"] == "/account/confirm?next=/account/email"
    refused = client.post("/account/email", data={"email": "new@example.com"})
    assert refused.status_code == 303 and refused.headers["Location"].startswith("/account/confirm")
    assert queued_jobs(app, "jobs.auth.send_code") == []


def test_a_code_goes_to_the_new_address_and_changes_it_once_entered(app, client):
    user_id = _ada(app, client)
    page = client.get("/account/email")
    assert page.status_code == 200 and "ada@example.com" in page.text
    sent = client.post("/account/email", data={"email": " New.Ada@Example.COM "})
    assert sent.status_code == 303 and sent.headers["Location"] == "/account/email/confirm"
    assert _email(app, user_id) == "ada@example.com"  # until the code comes back, the old address stays
    [message] = delivered(app, "email_change_code")
    assert message.to == "new.ada@example.com" and "60 minutes" in message.text
    code = code_in(message.text)
    refused = client.post("/account/email/confirm", data={"code": wrong(code)})
    assert refused.status_code == 401 and 'id="code-error"' in refused.text
    assert _email(app, user_id) == "ada@example.com"
    done = client.post("/account/email/confirm", data={"code": code})
    assert done.status_code == 303 and done.headers["Location"] == "/account/email"
    assert _email(app, user_id) == "new.ada@example.com"
    assert "Your email address is now new.ada@example.com." in client.get("/account/email").text
    [notice] = delivered(app, "email_changed")
    assert notice.to == "ada@example.com" and "new.ada@example.com" in notice.text
    assert "/auth/password-reset/" in notice.text and "/account/sessions" in notice.text
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.email_changed"))
        assert event.before == {"email": "ada@example.com"} and event.after == {"email": "new.ada@example.com"}


def test_the_code_works_once_and_for_an_hour(app, client):
    user_id = _ada(app, client)
    client.post("/account/email", data={"email": "new@example.com"})
    with app.app_context():
        otp = db.session.scalar(sa.select(UserOTP).where(UserOTP.purpose == "change_email"))
        assert timedelta(minutes=59) < otp.expires_at - otp.created_at <= timedelta(hours=1)
        assert otp.target == "new@example.com"
    code = code_in(delivered(app, "email_change_code")[-1].text)
    assert client.post("/account/email/confirm", data={"code": code}).status_code == 303
    # The pending address is gone from the session; a replay on a fresh one finds no active code.
    with client.session_transaction() as flask_session:
        flask_session["pending_email"] = "new@example.com"
    assert client.post("/account/email/confirm", data={"code": code}).status_code == 401
    assert _email(app, user_id) == "new@example.com"


def test_a_taken_address_gets_the_same_answer_and_nobody_is_sent_anything(app, client):
    with app.app_context():
        make_user(username="grace", email="grace@example.com")
    user_id = _ada(app, client)
    free = client.post("/account/email", data={"email": "free@example.com"})
    assert [m.to for m in delivered(app, "email_change_code")] == ["free@example.com"]
    with app.app_context():  # let the cooldown pass for the second request
        for otp in db.session.scalars(sa.select(UserOTP)):
            otp.created_at -= timedelta(minutes=2)
        db.session.commit()
    taken = client.post("/account/email", data={"email": "grace@example.com"})
    assert free.status_code == taken.status_code == 303
    assert free.headers["Location"] == taken.headers["Location"]
    page = client.get("/account/email/confirm").text
    assert "We sent a code to grace@example.com" in page
    assert [m.to for m in delivered(app, "email_change_code")] == ["free@example.com"]
    assert _email(app, user_id) == "ada@example.com"


def test_bad_input_is_refused_beside_the_field_and_changes_nothing(app, client):
    user_id = _ada(app, client)
    for value, message in (
        ("", "Enter your email address."),
        ("not-an-address", "email"),
        ("ada@example.com", "That is already your address."),
        ("x" * 300 + "@example.com", "email"),
    ):
        response = client.post("/account/email", data={"email": value})
        assert response.status_code == 400, value
        assert 'id="email-error"' in response.text and message in response.text
    assert queued_jobs(app, "jobs.auth.send_code") == []
    assert _email(app, user_id) == "ada@example.com"
    bad_code = client.post("/account/email/confirm", data={"code": "12ab"})
    assert bad_code.status_code == 303  # nothing pending: back to the form


def test_a_second_request_inside_the_cooldown_is_refused_on_the_field(app, client):
    _ada(app, client)
    client.post("/account/email", data={"email": "new@example.com"})
    again = client.post("/account/email", data={"email": "new@example.com"})
    assert again.status_code == 429 and "Please wait" in again.text and 'id="email-error"' in again.text


def test_an_account_without_a_password_sets_one_first(app, client):
    user_id = _ada(app, client, password=None)
    page = client.get("/account/email")
    assert "Set a password first" in page.text and 'name="email"' not in page.text
    refused = client.post("/account/email", data={"email": "new@example.com"})
    assert refused.status_code == 200 and queued_jobs(app, "jobs.auth.send_code") == []
    assert client.get("/account/password").headers["Location"] == "/account/password/set"
    weak = client.post("/account/password/set", data={"password": "short"})
    assert weak.status_code == 400 and 'id="password-error"' in weak.text
    done = client.post("/account/password/set", data={"password": "a long enough passphrase"})
    assert done.status_code == 303
    with app.app_context():
        assert db.session.get(User, user_id).password_hash is not None
    assert client.get("/account/password/set").headers["Location"] == "/account/password"
    assert 'name="email"' in client.get("/account/email").text


def test_setting_a_first_password_needs_a_recent_authentication(app, client):
    _ada(app, client, password=None, recent=False)
    response = client.post("/account/password/set", data={"password": "a long enough passphrase"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/account/confirm")


def test_the_forms_need_their_csrf_token(make_app):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    with csrf_app.app_context():
        sign_in(client, make_user(username="ada"))
    assert client.post("/account/email", data={"email": "new@example.com"}).status_code == 400
    with client.session_transaction() as flask_session:
        flask_session["pending_email"] = "new@example.com"
    assert client.post("/account/email/confirm", data={"code": "123456"}).status_code == 400
