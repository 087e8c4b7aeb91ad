"""Operator commands: create-admin, cleanup-otps, purge-sessions, users deactivate / set-role."""

from datetime import timedelta

import sqlalchemy as sa

from app import rbac
from app.auth.otp import code_for, issue_otp, verify_otp
from app.auth.passwords import verify_password
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.otp import UserOTP
from app.models.user import User, UserSession
from tests.support.users import make_user, sign_in

ADMIN_PASSWORD = "root of all admins 42"


def _user(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User).where(User.email == email))


def test_create_admin_with_flags(app, runner):
    result = runner.invoke(
        args=["create-admin", "--email", "Boss@Example.com", "--username", "boss", "--password", ADMIN_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "created admin boss <boss@example.com>" in result.output
    with app.app_context():
        boss = db.session.scalar(sa.select(User).where(User.email == "boss@example.com"))
        assert boss.role.name == "admin" and rbac.can(boss, "roles.manage") and boss.is_verified
        assert verify_password(boss.password_hash, ADMIN_PASSWORD)
        assert db.session.scalar(sa.select(AuditEvent.after).where(AuditEvent.action == "user.role_changed")) == {
            "role": "admin"
        }


def test_create_admin_prompts_for_what_is_missing(app, runner):
    result = runner.invoke(args=["create-admin"], input=f"boss@example.com\nboss\n{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Email:" in result.output and "Password:" in result.output and ADMIN_PASSWORD not in result.output
    assert _user(app, "boss@example.com").username == "boss"


def test_create_admin_applies_the_password_policy(app, runner):
    result = runner.invoke(
        args=["create-admin", "--email", "boss@example.com", "--username", "boss", "--password", "password123"]
    )
    assert result.exit_code == 1 and "password: That password is on a list" in result.output
    assert _user(app, "boss@example.com") is None


def test_create_admin_refuses_a_taken_email(app, runner):
    with app.app_context():
        make_user(username="boss", email="boss@example.com")
    result = runner.invoke(
        args=["create-admin", "--email", "boss@example.com", "--username", "boss2", "--password", ADMIN_PASSWORD]
    )
    assert result.exit_code == 1 and "already exists" in result.output


def test_cleanup_otps_deletes_finished_codes(app, runner, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    with app.app_context():
        user = make_user()
        code = code_for(issue_otp(user, "login"))
        db.session.commit()
        verify_otp(user, "login", code)
    time_machine.shift(timedelta(hours=2))
    result = runner.invoke(args=["cleanup-otps"])
    assert result.exit_code == 0 and "deleted 1 one-time code(s)" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserOTP)) == 0


def test_purge_sessions_deletes_ended_and_idle_sessions(app, runner, client):
    with app.app_context():
        user = make_user()
        live = sign_in(client, user)
        ended = UserSession(user_id=user.id, revoked_at=utcnow())
        idle = UserSession(user_id=user.id, last_seen_at=utcnow() - timedelta(days=31))
        db.session.add_all([ended, idle])
        db.session.commit()
        live_id = live.id
    result = runner.invoke(args=["purge-sessions"])
    assert result.exit_code == 0 and "deleted 2 ended or idle session(s)" in result.output
    with app.app_context():
        assert db.session.scalars(sa.select(UserSession.id)).all() == [live_id]


def test_users_deactivate_ends_their_sessions(app, runner, client):
    with app.app_context():
        sign_in(client, make_user(username="gone", email="gone@example.com"))
    assert 'action="/auth/logout"' in client.get("/").text
    result = runner.invoke(args=["users", "deactivate", "GONE@example.com"])
    assert result.exit_code == 0 and "deactivated gone@example.com and ended 1 session(s)" in result.output
    assert _user(app, "gone@example.com").is_active is False
    assert 'action="/auth/logout"' not in client.get("/").text
    again = runner.invoke(args=["users", "deactivate", "gone@example.com"])
    assert again.exit_code == 1 and "already deactivated" in again.output


def test_users_deactivate_an_unknown_email_fails(runner):
    result = runner.invoke(args=["users", "deactivate", "nobody@example.com"])
    assert result.exit_code == 1 and "no user with email nobody@example.com" in result.output


def test_users_set_role_changes_the_role_and_audits_it(app, runner):
    with app.app_context():
        make_user(username="helper", email="helper@example.com")
    result = runner.invoke(args=["users", "set-role", "helper@example.com", "support"])
    assert result.exit_code == 0 and "now has the role support" in result.output
    assert _user(app, "helper@example.com").role.name == "support"
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.role_changed"))
        assert (event.before, event.after) == ({"role": "customer"}, {"role": "support"})
    bad = runner.invoke(args=["users", "set-role", "helper@example.com", "wizard"])
    assert bad.exit_code == 1 and "no role named" in bad.output
