"""Staff must use a second factor before /admin opens; an admin can reset a user's (never seeing it)."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.mfa import RecoveryCode, TotpFactor
from app.models.user import User
from tests.auth.conftest import queued_emails
from tests.factories import TOTP_SECRET
from tests.support.users import make_user, sign_in


def _reset(user_id) -> str:
    return f"/admin/users/{user_id}/reset-second-factor"


def test_staff_without_a_second_factor_are_sent_to_enroll_before_any_admin_page(app, client):
    with app.app_context():
        sign_in(client, make_user(username="boss", role="support", totp=False))
    for path in ("/admin/", "/admin/users", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/account/security/totp?staff=1"
    page = client.get("/account/security/totp?staff=1")
    assert "Staff accounts need a second factor" in page.text


def test_customers_still_get_a_404_and_staff_with_a_factor_get_in(app, client):
    other = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username="ada"))
        sign_in(other, make_user(username="root", role="admin"))
    assert client.get("/admin/").status_code == 404
    assert other.get("/admin/").status_code == 200


def test_an_admin_resets_a_users_factor_audited_and_emailed_never_seeing_the_secret(app, client):
    with app.app_context():
        ada = make_user(username="ada", email="ada@example.com", totp=True)
        db.session.add(RecoveryCode(user_id=ada.id, code_hash="0" * 64))
        db.session.commit()
        admin = make_user(username="root", role="admin")
        sign_in(client, admin)
        ada_id, admin_id = ada.id, admin.id
    page = client.get(f"/admin/users/{ada_id}").text
    assert "Reset second factor" in page and TOTP_SECRET not in page
    done = client.post(_reset(ada_id))
    assert done.status_code == 303
    with app.app_context():
        assert db.session.get(TotpFactor, ada_id) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mfa.reset_by_staff"))
        assert event.actor_id == admin_id and event.target_id == str(ada_id)
    (notice,) = [m for m in queued_emails(app, "security_notice") if m["to"] == "ada@example.com"]
    assert "reset by our staff" in notice["context"]["title"]
    assert client.post(_reset(ada_id)).status_code == 409  # nothing left to reset


def test_the_reset_wants_users_manage(app, client):
    with app.app_context():
        ada_id = make_user(username="ada", totp=True).id
        sign_in(client, make_user(username="helper", role="support"))
    assert client.post(_reset(ada_id)).status_code == 403
    with app.app_context():
        assert db.session.get(TotpFactor, ada_id) is not None


def test_the_reset_wants_a_recent_sign_in_and_an_existing_user(app, client):
    with app.app_context():
        ada_id = make_user(username="ada", totp=True).id
        admin_id = make_user(username="root", role="admin").id
        sign_in(client, db.session.get(User, admin_id), recent=False)
    stale = client.post(_reset(ada_id))
    assert stale.status_code == 303 and stale.headers["Location"].startswith("/account/confirm")
    with app.app_context():
        assert db.session.get(TotpFactor, ada_id) is not None
        sign_in(client, db.session.get(User, admin_id))
    assert client.post(_reset("00000000-0000-0000-0000-000000000000")).status_code == 404


def test_the_reset_wants_csrf(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        ada_id = make_user(username="ada", totp=True).id
        sign_in(client, make_user(username="root", role="admin"))
    assert client.post(_reset(ada_id)).status_code == 400
    with app.app_context():
        assert db.session.get(TotpFactor, ada_id) is not None
