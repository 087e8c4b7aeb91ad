"""A passkey is a second factor too: an account with one finishes a password sign-in with it (or a code),
gets recovery codes with its first passkey, and loses both when staff reset its second factors."""

import sqlalchemy as sa

from app.auth import mfa
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.mfa import RecoveryCode
from app.models.passkey import WebAuthnCredential
from app.models.user import User
from tests.support.authenticator import ADD, LOGIN_OPTIONS, OPTIONS, SoftAuthenticator, add_passkey
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

MFA_PASSKEY = "/auth/mfa/passkey"


def _account_with_passkey(app, client, username="ada") -> SoftAuthenticator:
    with app.app_context():
        owner = make_user(username=username, email=f"{username}@example.com")
        sign_in(client, owner)
    authenticator = add_passkey(client)
    client.post("/auth/logout")
    return authenticator


def _signed_in(client) -> bool:
    return client.get("/account/profile").status_code == 200


def test_the_first_passkey_comes_with_ten_recovery_codes_shown_once(app, client):
    with app.app_context():
        sign_in(client, make_user(username="ada", email="ada@example.com"))
    authenticator = SoftAuthenticator()
    answer = authenticator.register(client.post(OPTIONS).json)
    page = client.post(ADD, data={"credential": answer, "name": "Laptop"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Passkey “Laptop” added." in page.text and page.text.count("<li><code>") == 10
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 10
    second = SoftAuthenticator().register(client.post(OPTIONS).json)
    assert client.post(ADD, data={"credential": second, "name": "Phone"}).status_code == 303  # no new codes


def test_a_password_sign_in_of_an_account_with_a_passkey_asks_for_it_and_the_passkey_completes_it(app, client):
    authenticator = _account_with_passkey(app, client)
    first = client.post("/auth/login", data={"identifier": "ada", "password": DEFAULT_PASSWORD})
    assert first.status_code == 303 and first.headers["Location"].startswith("/auth/mfa")
    assert not _signed_in(client)
    step = client.get("/auth/mfa")
    assert "Use a passkey" in step.text and 'action="/auth/mfa/passkey"' in step.text
    done = client.post(MFA_PASSKEY, data={"credential": authenticator.sign_in(client.post(LOGIN_OPTIONS).json)})
    assert done.status_code == 303 and _signed_in(client)
    with app.app_context():
        factors = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.second_factor")).all()
        assert [e.after for e in factors] == [{"factor": "passkey"}]


def test_another_accounts_passkey_does_not_finish_the_second_step(app, client):
    _account_with_passkey(app, client, "ada")
    bob_key = _account_with_passkey(app, client, "bob")
    client.post("/auth/login", data={"identifier": "ada", "password": DEFAULT_PASSWORD})
    refused = client.post(MFA_PASSKEY, data={"credential": bob_key.sign_in(client.post(LOGIN_OPTIONS).json)})
    assert refused.status_code == 401 and "belongs to another account" in refused.text
    assert not _signed_in(client)


def test_the_passkey_step_needs_a_first_step(app, client):
    authenticator = _account_with_passkey(app, client)
    lone = client.post(MFA_PASSKEY, data={"credential": authenticator.sign_in(client.post(LOGIN_OPTIONS).json)})
    assert lone.status_code == 303 and lone.headers["Location"].startswith("/auth/login")
    assert not _signed_in(client)


def test_staff_resetting_second_factors_removes_passkeys_and_codes_too(app, client):
    _account_with_passkey(app, client)
    with app.app_context():
        ada = db.session.scalar(sa.select(User).where(User.username == "ada"))
        assert mfa.has_second_factor(ada)
        admin = make_user(username="root", role="admin")
        mfa.reset_by_staff(ada, actor_id=admin.id)
        assert not mfa.has_second_factor(ada)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebAuthnCredential)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
