"""Every identity form, swept with hostile values: a 4xx, the message next to the field, nothing changed."""

import pytest
import sqlalchemy as sa

from app.auth.reset import make_reset_token
from app.extensions import db
from app.models.otp import UserOTP
from app.models.user import User, UserSession
from tests.support import hostile
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

HOSTILE = hostile.TEXT
# Passwords may hold any character by design; hostile ones are tested where the policy refuses them (length).
HOSTILE_PASSWORDS = ["", "x" * 5000, "admin\u200b", "<script>", "' OR 1=1", "🙂🙂"]
CODES = ["", "abcdef", "12345", "1234567", "x" * 5000, "١٢٣٤٥٦", "<script>", "' OR 1=1 --"]

FORMS = {
    "signup": (
        "/auth/signup",
        None,
        {"username": "newbie", "email": "newbie@example.com", "password": "a long unusual passphrase", "phone": ""},
        {
            "username": HOSTILE,
            "email": HOSTILE,
            "password": HOSTILE_PASSWORDS,
            "phone": ["12", "not a phone", "x" * 5000, "+1 415 555 0100\u200b", "<script>"],
        },
    ),
    "verify": ("/auth/verify", "verify", {"code": "000000"}, {"code": CODES}),
    "login": (
        "/auth/login",
        None,
        {"identifier": "ada", "password": DEFAULT_PASSWORD},
        {"identifier": HOSTILE, "password": HOSTILE_PASSWORDS},
    ),
    "login_code": ("/auth/login/code", None, {"email": "ada@example.com"}, {"email": HOSTILE}),
    "login_code_enter": ("/auth/login/code/enter", "login_code", {"code": "000000"}, {"code": CODES}),
    "password_reset": ("/auth/password-reset", None, {"email": "ada@example.com"}, {"email": HOSTILE}),
    "password_reset_token": (
        "/auth/password-reset/{token}",
        None,
        {"password": "a long unusual passphrase"},
        {"password": HOSTILE_PASSWORDS},
    ),
    "profile": (
        "/account/profile",
        "signed_in",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "gender": "",
            "date_of_birth": "",
            "line1": "",
            "line2": "",
            "city": "",
            "region": "",
            "postal_code": "",
            "country": "",
            "phone": "",
        },
        {
            **{
                f: HOSTILE[2:]
                for f in ("first_name", "last_name", "line1", "line2", "city", "region", "postal_code", "country")
            },
            "gender": ["robot", "<script>", "x" * 5000],
            "date_of_birth": ["yesterday", "2999-01-01", "1815-12-10", "' OR 1=1 --"],
            "phone": ["12", "not a phone", "x" * 5000, "<script>"],
        },
    ),
    "phone_verify": ("/account/phone/verify", "phone", {"code": "000000"}, {"code": CODES}),
    "password_change": (
        "/account/password",
        "signed_in",
        {"current_password": DEFAULT_PASSWORD, "password": "a long unusual passphrase"},
        {"current_password": ["", "x" * 5000, "admin\u200b", "' OR 1=1 --"], "password": HOSTILE_PASSWORDS},
    ),
}


def _snapshot():
    users = [
        tuple(getattr(u, c.key) for c in User.__table__.columns if c.key != "updated_at")
        for u in db.session.scalars(sa.select(User).order_by(User.email))
    ]
    live = db.session.scalar(
        sa.select(sa.func.count()).select_from(UserSession).where(UserSession.revoked_at.is_(None))
    )
    used = db.session.scalar(sa.select(sa.func.count()).select_from(UserOTP).where(UserOTP.status == "used"))
    return users, live, used


def _prepare(app, client, state):
    with app.app_context():
        ada = make_user(username="ada", email="ada@example.com")
        token = make_reset_token(ada)
        if state in ("signed_in", "phone"):
            sign_in(client, ada)
        with client.session_transaction() as s:
            s.update(
                {
                    "verify": {"verify_user_id": str(ada.id), "verify_email": "ada@example.com"},
                    "login_code": {"login_code_email": "ada@example.com"},
                    "phone": {"pending_phone": "+14155550100"},
                }.get(state, {})
            )
    return token


@pytest.mark.parametrize("form_name", FORMS)
def test_hostile_values_get_a_4xx_with_a_message_next_to_the_field_and_change_nothing(app, client, form_name):
    url, state, valid, sweep = FORMS[form_name]
    token = _prepare(app, client, state)
    url = url.format(token=token)
    with app.app_context():
        before = _snapshot()
    for field, values in sweep.items():
        for value in values:
            response = client.post(url, data={**valid, field: value})
            label = f"{form_name}.{field}={value[:30]!r}"
            assert 400 <= response.status_code < 500, f"{label}: {response.status_code}"
            assert "field-error" in response.text, label
            if response.status_code == 400:
                assert f'id="{field}-error"' in response.text, label
            with app.app_context():
                assert _snapshot() == before, label
