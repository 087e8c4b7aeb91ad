"""New sign-in alerts: an email when an account signs in from a browser it hasn't used before
(no device cookie for it), with the device, the IP, the time and a link to review sign-ins.
Not on the first sign-in after signing up; queued through the outbox with the session id only."""

import sqlalchemy as sa

from app.auth import alerts
from app.extensions import db
from app.models.user import User, UserSession
from tests.auth.conftest import delivered, queued_jobs
from tests.support.users import DEFAULT_PASSWORD, make_user

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _log_in(client, identifier="ada"):
    response = client.post(
        "/auth/login",
        data={"identifier": identifier, "password": DEFAULT_PASSWORD},
        headers={"User-Agent": FIREFOX},
    )
    assert response.status_code == 303
    return response


def _signed_in_before(app):
    with app.app_context():
        user = make_user(username="ada", email="ada@example.com")
        user.last_login_at = user.created_at
        db.session.commit()
        return user.id


def test_a_browser_without_a_device_cookie_triggers_an_alert(app):
    user_id = _signed_in_before(app)
    _log_in(app.test_client())
    [job] = queued_jobs(app, "jobs.auth.send_sign_in_alert")
    with app.app_context():
        record = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user_id))
        assert job["args"] == [str(record.id)] and job["queue"] == "high"
    [alert] = delivered(app, "new_sign_in")
    assert alert.to == "ada@example.com"
    assert "Firefox on Linux" in alert.text and "127.0.0.1" in alert.text and "UTC" in alert.text
    assert "/account/sessions" in alert.text  # alerts.SECURITY_PAGE


def test_the_same_browser_signing_in_again_is_not_new(app):
    _signed_in_before(app)
    browser = app.test_client()
    _log_in(browser)
    browser.post("/auth/logout")
    _log_in(browser)
    assert len(queued_jobs(app, "jobs.auth.send_sign_in_alert")) == 1


def test_the_first_sign_in_after_sign_up_is_not_announced(app):
    with app.app_context():
        make_user(username="ada", email="ada@example.com")
    _log_in(app.test_client())
    assert queued_jobs(app, "jobs.auth.send_sign_in_alert") == []
    with app.app_context():
        assert db.session.scalar(sa.select(User.last_login_at)) is not None
    _log_in(app.test_client())  # a second browser now is new
    assert len(queued_jobs(app, "jobs.auth.send_sign_in_alert")) == 1


def test_a_deleted_session_or_account_sends_nothing(app):
    _signed_in_before(app)
    _log_in(app.test_client())
    with app.app_context():
        db.session.execute(sa.delete(UserSession))
        db.session.commit()
    assert delivered(app, "new_sign_in") == []


def test_the_place_is_the_ip_without_a_geoip_database():
    assert alerts.place_for("203.0.113.7") == "203.0.113.7"
    assert alerts.place_for(None) == "an unknown address"
