"""Every identity event leaves an audit row: who, what, when, IP and request id."""

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from tests.auth.conftest import last_code, reset_link

PASSWORD = "analytical engine 1843"


def test_signup_to_role_change_is_audited_with_ip_and_request_id(app, client, runner):
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    client.post("/auth/signup", data={"username": "grace", "email": "grace@example.com", "password": PASSWORD})
    client.post("/auth/verify", data={"code": last_code(app, "verification_code")})
    client.post("/auth/logout")
    client.post("/auth/login", data={"identifier": "grace", "password": "wrong password!"})
    client.post("/auth/login", data={"identifier": "grace", "password": PASSWORD})
    client.post("/account/password", data={"current_password": PASSWORD, "password": "a second passphrase"})
    client.post("/auth/password-reset", data={"email": "grace@example.com"})
    client.post(reset_link(app), data={"password": "a third passphrase"})
    assert runner.invoke(args=["users", "set-role", "grace@example.com", "support"]).exit_code == 0

    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.created_at)).all()
    actions = [e.action for e in events]
    for action in (
        "user.signup",
        "user.email_verified",
        "auth.login",
        "auth.logout",
        "auth.login_failed",
        "password.changed",
        "password.reset_requested",
        "password.reset",
        "user.role_changed",
    ):
        assert action in actions, action
    web = [e for e in events if e.action != "user.role_changed"]
    assert all(e.ip == "203.0.113.9" and e.request_id and e.created_at for e in web)
    grace_id = next(e.actor_id for e in events if e.action == "user.signup")
    assert all(e.target_id == str(grace_id) for e in events)
