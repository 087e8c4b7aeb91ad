"""/account/security and its actions: who may open them, step-up, CSRF, and what they change."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa

from app.auth import mfa
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.mfa import RecoveryCode, TotpFactor
from app.models.user import User
from tests.auth.conftest import queued_emails
from tests.support.mfa import TOTP_SECRET, totp_code
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

ENROLL = "/account/security/totp"


def _user(app, client, *, recent: bool = True, **fields) -> User:
    with app.app_context():
        user = make_user(username="ada", email="ada@example.com", **fields)
        sign_in(client, user, recent=recent)
        db.session.refresh(user)  # the commit expired it; load before detaching
        db.session.expunge(user)
    return user


def _key_on(page: str) -> str:
    return re.search(r'id="totp-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


@pytest.mark.parametrize("path", ["/account/security", ENROLL])
def test_the_pages_want_a_signed_in_person(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("path", [ENROLL, "/account/security/totp/disable", "/account/security/recovery-codes"])
def test_every_action_wants_a_signed_in_person(client, path):
    assert client.post(path).status_code == 302


def test_the_page_shows_password_factor_codes_sessions_and_events(app, client):
    _user(app, client)
    page = client.get("/account/security").text
    for text in ("Password", "Last changed", "Authenticator app", "Recovery codes", "/account/sessions"):
        assert text in page
    assert 'href="/account/security/totp"' in page and ">Off<" in page


def test_enrolling_shows_the_qr_and_the_key_and_turns_on_with_a_current_code(app, client):
    user = _user(app, client)
    page = client.get(ENROLL)
    assert page.status_code == 200 and "<svg" in page.text and "data:image" not in page.text
    key = _key_on(page.text)
    assert client.get(ENROLL).text.count(key[:4]) >= 1 and _key_on(client.get(ENROLL).text) == key  # stable
    with app.app_context():
        assert db.session.get(TotpFactor, user.id) is None  # GET never writes
    wrong = client.post(ENROLL, data={"code": f"{(int(pyotp.TOTP(key).now()) + 1) % 10**6:06d}"})
    assert wrong.status_code == 400 and "doesn’t match" in wrong.text
    done = client.post(ENROLL, data={"code": pyotp.TOTP(key).now()})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.text)
    assert len(codes) == 10
    with app.app_context():
        factor = db.session.get(TotpFactor, user.id)
        assert key not in factor.secret_encrypted
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert "mfa.totp_enabled" in actions
    assert "10 of 10 recovery codes left" in client.get("/account/security").text
    assert [m["context"]["title"] for m in queued_emails(app, "security_notice")] == ["Your authenticator app is on"]


def test_enrolling_wants_a_recent_sign_in(app, client):
    _user(app, client, recent=False)
    response = client.get(ENROLL)
    assert response.status_code == 303 and response.headers["Location"].startswith("/account/confirm")


def test_turning_off_wants_step_up_then_removes_factor_and_codes_and_emails(app, client):
    user = _user(app, client, recent=False, totp=True)
    refused = client.post("/account/security/totp/disable", headers={"Referer": "http://localhost/account/security"})
    assert refused.headers["Location"] == "/account/confirm?next=/account/security"
    # Confirm with the authenticator code (the confirm page accepts one for accounts with a factor).
    confirm = client.get("/account/confirm?next=/account/security")
    assert "authenticator app" in confirm.text and 'name="code"' in confirm.text
    back = client.post("/account/confirm?next=/account/security", data={"code": totp_code()})
    assert back.status_code == 303 and back.headers["Location"] == "/account/security"
    off = client.post("/account/security/totp/disable")
    assert off.status_code == 303
    with app.app_context():
        assert db.session.get(TotpFactor, user.id) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
        assert "mfa.totp_disabled" in db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "Your authenticator app was turned off" in [m["context"]["title"] for m in queued_emails(app)]


def test_the_confirm_page_refuses_a_wrong_code_beside_the_field(app, client):
    _user(app, client, recent=False, totp=True)
    refused = client.post("/account/confirm?next=/account/security", data={"code": "000000"})
    assert refused.status_code == 401 and "isn’t right" in refused.text
    assert client.get(ENROLL).status_code == 303  # still not recent


def test_the_confirm_page_still_takes_the_password(app, client):
    _user(app, client, recent=False, totp=True)
    back = client.post("/account/confirm?next=/account/security", data={"password": DEFAULT_PASSWORD})
    assert back.headers["Location"] == "/account/security"


def test_staff_cannot_turn_their_only_factor_off(app, client):
    with app.app_context():
        boss = make_user(username="boss", role="support")
        sign_in(client, boss)
    assert client.post("/account/security/totp/disable").status_code == 409
    assert "can’t be turned off here" in client.get("/account/security").text


def test_regenerating_codes_wants_step_up_and_shows_ten_new_ones(app, client):
    user = _user(app, client, totp=True)
    with app.test_request_context():
        old = mfa.regenerate_recovery_codes(db.session.get(User, user.id))
    page = client.post("/account/security/recovery-codes")
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page.text)
    assert page.status_code == 200 and len(new) == 10 and not set(new) & set(old)


def test_regenerating_without_a_factor_is_a_conflict(app, client):
    _user(app, client)
    assert client.post("/account/security/recovery-codes").status_code == 409


def test_the_actions_want_csrf(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username="ada", totp=True))
    for path in (ENROLL, "/account/security/totp/disable", "/account/security/recovery-codes"):
        assert client.post(path, data={"code": "123456"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TotpFactor)) == 1


def test_the_events_are_sentences_about_this_person_only(app, client):
    user = _user(app, client)
    with app.app_context():
        other = make_user(username="bob")
        db.session.add_all(
            [
                AuditEvent(
                    action="auth.login",
                    actor_id=user.id,
                    target_type="users",
                    target_id=str(user.id),
                    after={"method": "password", "device": "Firefox on Linux"},
                    ip="203.0.113.9",
                ),
                AuditEvent(action="password.changed", actor_id=user.id, target_type="users", target_id=str(user.id)),
                AuditEvent(
                    action="auth.login",
                    actor_id=other.id,
                    target_type="users",
                    target_id=str(other.id),
                    after={"method": "password", "device": "Safari on iOS"},
                ),
            ]
        )
        db.session.commit()
    page = client.get("/account/security").text
    assert "You signed in with your password on Firefox on Linux." in page and "203.0.113.9" in page
    assert "You changed your password." in page
    assert "Safari on iOS" not in page and "auth.login" not in page


def test_the_secret_stays_out_of_the_audit_log_and_emails(app, client):
    _user(app, client, totp=True)
    with app.app_context():
        assert TOTP_SECRET not in str([(e.before, e.after) for e in db.session.scalars(sa.select(AuditEvent))])
    assert TOTP_SECRET not in str(queued_emails(app))


def test_an_account_without_a_password_confirms_with_its_authenticator_code(app, client):
    _user(app, client, recent=False, totp=True, password=None)
    page = client.get("/account/confirm?next=/account/security").text
    assert page.count('name="code"') == 1 and 'name="password"' not in page and "Email me a code" not in page
    back = client.post("/account/confirm?next=/account/security", data={"code": totp_code()})
    assert back.status_code == 303 and back.headers["Location"] == "/account/security"
