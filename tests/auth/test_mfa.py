"""Second factors (ASVS V6.3.2, V6.5, V6.6): the TOTP window and reuse, recovery codes, the second sign-in step."""

from __future__ import annotations

import time

import pyotp
import pytest
import sqlalchemy as sa

from app.auth import mfa, mfa_keys, totp
from app.errors import AuthenticationError, ValidationError
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.mfa import RecoveryCode, TotpFactor
from app.models.user import User
from tests.auth.conftest import last_code, queued_emails
from tests.support.mfa import TOTP_SECRET, totp_code
from tests.support.users import DEFAULT_PASSWORD, make_user

NOW = 1_800_000_015.0  # 15 s into a step


def _code_at(offset_steps: int, secret: str = TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).at(NOW + 30 * offset_steps)


# --- The TOTP window --------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_one_step_early_or_late_is_accepted(offset):
    assert totp.matching_step(TOTP_SECRET, _code_at(offset), now=NOW) == totp.current_step(NOW) + offset


@pytest.mark.parametrize("offset", [-2, 2, 5])
def test_a_code_two_steps_away_is_refused(offset):
    code = _code_at(offset)
    assert all(code != _code_at(near) for near in (-1, 0, 1))  # not accepted by an accidental collision
    assert totp.matching_step(TOTP_SECRET, code, now=NOW) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_anything_but_six_digits_matches_no_step(code):
    assert totp.matching_step(TOTP_SECRET, code, now=NOW) is None


def test_the_key_is_shown_in_groups_of_four_and_the_qr_is_inline_svg():
    secret = totp.new_secret()
    assert len(secret) == 32 and totp.grouped(secret).replace(" ", "") == secret
    assert totp.grouped("ABCDEFGH") == "ABCD EFGH"
    svg = totp.qr_svg(totp.provisioning_uri(secret, account="ada@example.com", issuer="MultiProduct"), title="QR")
    assert svg.startswith("<svg") and "data:" not in svg and "<title>QR</title>" in svg


# --- Secrets at rest, and the step used once ---------------------------------------------


def test_the_secret_is_encrypted_at_rest(app):
    with app.app_context():
        ada = make_user(username="ada", totp=True)
        stored = db.session.execute(
            sa.text("SELECT secret_encrypted FROM totp_factor WHERE user_id = :id"), {"id": ada.id}
        ).scalar_one()
        assert TOTP_SECRET not in stored and TOTP_SECRET.lower() not in stored.lower()
        assert mfa_keys.decrypt(stored) == TOTP_SECRET


def test_without_a_configured_key_the_development_key_is_used_and_said_so(app, caplog):
    from cryptography.fernet import Fernet

    assert app.config["MFA_ENCRYPTION_KEY"] is None  # the test configuration sets none
    app.extensions.pop("mfa_dev_key_noted", None)  # said once per process: an earlier test may have heard it
    with app.app_context(), caplog.at_level("WARNING", logger="app.auth.mfa_keys"):
        token = mfa_keys.encrypt(TOTP_SECRET)
        assert Fernet(mfa_keys.DEV_KEY.encode()).decrypt(token.encode()).decode() == TOTP_SECRET
    assert any("MFA_ENCRYPTION_KEY is unset" in record.message for record in caplog.records)


def test_rotating_the_encryption_key_keeps_old_secrets_readable(app):
    from cryptography.fernet import Fernet

    with app.app_context():
        old = mfa_keys.encrypt(TOTP_SECRET)  # under the development key
        app.config["MFA_ENCRYPTION_KEY"] = f"{Fernet.generate_key().decode()},{mfa_keys.DEV_KEY}"
        assert mfa_keys.decrypt(old) == TOTP_SECRET
        app.config["MFA_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
        with pytest.raises(mfa_keys.SecretUnreadable):
            mfa_keys.decrypt(old)


def _not_at_a_step_boundary() -> None:
    """Codes computed now and used a moment later belong to the same step (not 2 s before it ends)."""
    if 30 - time.time() % 30 < 2:
        time.sleep(2.5)


def test_a_code_is_accepted_once_and_an_earlier_step_after_it_is_refused(app):
    _not_at_a_step_boundary()
    with app.test_request_context():
        ada = make_user(username="ada", totp=True)
        now = totp_code()
        assert mfa.verify_second_factor(ada, now, action="auth.login_failed") == "totp"
        db.session.commit()
        with pytest.raises(AuthenticationError, match="isn’t right"):
            mfa.verify_second_factor(ada, now, action="auth.login_failed")  # the same step again
        assert mfa.verify_second_factor(ada, totp_code(steps_ahead=1), action="auth.login_failed") == "totp"
        db.session.commit()
        with pytest.raises(AuthenticationError, match="isn’t right"):
            mfa.verify_second_factor(ada, totp_code(steps_ahead=0), action="auth.login_failed")  # earlier step
        step = db.session.get(TotpFactor, ada.id).last_used_step
        assert step == totp.current_step() + 1


# --- Recovery codes ------------------------------------------------------------------------


def _enrolled(app) -> tuple[User, list[str]]:
    ada = make_user(username="ada", email="ada@example.com")
    secret = totp.new_secret()
    codes = mfa.enable_totp(ada, secret, pyotp.TOTP(secret).now())
    return ada, codes


def test_turning_on_the_first_factor_gives_ten_distinct_codes_stored_only_as_keyed_hashes(app):
    with app.test_request_context():
        ada, codes = _enrolled(app)
        assert len(codes) == 10 and len(set(codes)) == 10
        assert all(len(code) == 11 and code[5] == "-" for code in codes)
        hashes = set(db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == ada.id)))
        assert len(hashes) == 10
        for code in codes:
            bare = code.replace("-", "")
            assert bare not in hashes and code not in hashes
            assert mfa_keys.code_hashes(bare)[0] in hashes
        assert mfa.recovery_codes_left(ada) == 10


def test_each_recovery_code_works_once_and_the_user_is_told(app):
    with app.test_request_context():
        ada, codes = _enrolled(app)
        assert mfa.verify_second_factor(ada, codes[0].upper(), action="auth.login_failed") == "recovery_code"
        db.session.commit()
        with pytest.raises(AuthenticationError, match="isn’t right"):
            mfa.verify_second_factor(ada, codes[0], action="auth.login_failed")
        assert mfa.recovery_codes_left(ada) == 9
    notices = [m["context"]["title"] for m in queued_emails(app, "security_notice")]
    assert notices == ["Your authenticator app is on", "A recovery code was used on your account"]


def test_the_email_says_so_when_fewer_than_three_codes_are_left(app):
    with app.test_request_context():
        ada, codes = _enrolled(app)
        for code in codes[:8]:
            mfa.verify_second_factor(ada, code, action="auth.login_failed")
            db.session.commit()
    bodies = [m["context"]["body"] for m in queued_emails(app, "security_notice")][1:]
    assert "3 codes are left" in bodies[6] and "Only 2 codes are left: make new ones" in bodies[7]


def test_regenerating_replaces_every_code(app):
    with app.test_request_context():
        ada, old = _enrolled(app)
        new = mfa.regenerate_recovery_codes(ada)
        assert not set(old) & set(new)
        with pytest.raises(AuthenticationError, match="isn’t right"):
            mfa.verify_second_factor(ada, old[1], action="auth.login_failed")
        assert mfa.verify_second_factor(ada, new[1], action="auth.login_failed") == "recovery_code"


def test_enrolling_needs_a_current_code_for_the_new_secret(app):
    with app.test_request_context():
        ada = make_user(username="ada")
        secret = totp.new_secret()
        with pytest.raises(ValidationError, match="doesn’t match"):
            mfa.enable_totp(ada, secret, pyotp.TOTP(totp.new_secret()).now())
        assert not mfa.has_second_factor(ada)


# --- The second sign-in step over HTTP -------------------------------------------------------


@pytest.fixture
def ada(app):
    with app.app_context():
        make_user(username="ada", email="ada@example.com", totp=True)


def _password(client, next_url: str | None = None):
    url = "/auth/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"identifier": "ada", "password": DEFAULT_PASSWORD})


def _signed_in(client) -> bool:
    return 'action="/auth/logout"' in client.get("/").text


def test_a_right_password_for_an_account_with_a_factor_is_only_half_a_sign_in(app, client, ada):
    response = _password(client)
    assert response.status_code == 303 and response.headers["Location"] == "/auth/mfa"
    assert not _signed_in(client)
    assert client.get("/account/profile").status_code == 302  # nothing behind login opens
    assert client.get("/account/security").status_code == 302
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.created_at)).all()
        assert "auth.login" not in actions and "auth.second_step" in actions
    page = client.get("/auth/mfa")
    assert page.status_code == 200 and "authenticator app" in page.text


def test_the_code_completes_the_sign_in_audited_with_the_factor_and_keeps_next(app, client, ada):
    _password(client, next_url="/account/sessions")
    done = client.post("/auth/mfa", data={"code": totp_code()})
    assert done.status_code == 303 and done.headers["Location"] == "/account/sessions"
    assert _signed_in(client)
    with app.app_context():
        factor = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.second_factor"))
        login = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.login"))
        assert factor.after == {"factor": "totp"} and login.after["method"] == "password"


def test_a_wrong_code_is_refused_beside_the_field_and_audited(app, client, ada):
    _password(client)
    refused = client.post("/auth/mfa", data={"code": f"{(int(totp_code()) + 1) % 10**6:06d}"})
    assert refused.status_code == 401 and "isn’t right" in refused.text and 'aria-invalid="true"' in refused.text
    assert not _signed_in(client)
    malformed = client.post("/auth/mfa", data={"code": "12<script>"})
    assert malformed.status_code == 400
    with app.app_context():
        failed = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
        assert failed.after["reason"] == "second_factor"


def test_the_half_signed_in_state_expires_after_five_minutes(app, client, ada):
    _password(client)
    with client.session_transaction() as state:
        state[mfa.PENDING] = {**state[mfa.PENDING], "started": int(time.time()) - 5 * 60 - 1}
    expired = client.post("/auth/mfa", data={"code": totp_code()})
    assert expired.status_code == 303 and expired.headers["Location"] == "/auth/login"
    assert not _signed_in(client)
    assert client.get("/auth/mfa").headers["Location"] == "/auth/login"


def test_without_a_password_first_the_second_step_is_not_there(client, ada):
    assert client.get("/auth/mfa").headers["Location"] == "/auth/login"
    assert client.post("/auth/mfa", data={"code": totp_code()}).status_code == 303
    assert not _signed_in(client)


def test_cancel_forgets_the_half_sign_in(client, ada):
    _password(client)
    client.post("/auth/mfa/cancel")
    assert client.get("/auth/mfa").headers["Location"] == "/auth/login"


def test_an_account_without_a_factor_signs_in_with_the_password_alone(app, client):
    with app.app_context():
        make_user(username="bob")
    response = client.post("/auth/login", data={"identifier": "bob", "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/" and _signed_in(client)


def test_the_emailed_sign_in_code_also_leads_to_the_second_step(app, client, ada):
    client.post("/auth/login/code", data={"email": "ada@example.com"})
    response = client.post("/auth/login/code/enter", data={"code": last_code(app, "login_code")})
    assert response.headers["Location"] == "/auth/mfa" and not _signed_in(client)
    assert client.post("/auth/mfa", data={"code": totp_code()}).status_code == 303
    assert _signed_in(client)


def test_five_wrong_codes_lock_the_account_like_five_wrong_passwords(limited_app):
    with limited_app.app_context():
        make_user(username="ada", email="ada@example.com", totp=True)
    client = limited_app.test_client()
    _password(client)
    for _ in range(5):
        assert client.post("/auth/mfa", data={"code": "000000"}).status_code == 401
    locked = client.post("/auth/mfa", data={"code": totp_code()})
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    assert not _signed_in(client)


def test_wrong_codes_count_towards_the_per_ip_failed_sign_in_limit(limited_app):
    with limited_app.app_context():
        for n in range(3):
            make_user(username=f"user{n}", totp=True)
    client = limited_app.test_client()
    failures = 0
    for n in range(3):
        client.post("/auth/login", data={"identifier": f"user{n}", "password": DEFAULT_PASSWORD})
        for _ in range(4):
            response = client.post("/auth/mfa", data={"code": "000000"})
            failures += response.status_code == 401
            if response.status_code == 429:
                break
    assert failures == 10 and response.status_code == 429


def test_the_second_step_wants_csrf(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_user(username="ada", totp=True)
    client = app.test_client()
    with client.session_transaction() as state:
        state[mfa.PENDING] = {"user": "x", "remember": False, "method": "password", "started": int(time.time())}
    assert client.post("/auth/mfa", data={"code": totp_code()}).status_code == 400
