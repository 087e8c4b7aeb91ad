"""New sign-in alerts: an email when an account signs in from a browser it hasn't used before
(no device cookie for it), with the device, the IP, the time and a link to review sign-ins.
Not on the first sign-in after signing up; queued through the outbox with the session id only."""

import sqlalchemy as sa
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from app.auth.geoip import place_for
from app.extensions import db
from app.models.user import User, UserSession
from tests.auth.conftest import delivered, queued_jobs
from tests.support.users import DEFAULT_PASSWORD, make_user

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _log_in(client, identifier="ada", ip="127.0.0.1"):
    response = client.post(
        "/auth/login",
        data={"identifier": identifier, "password": DEFAULT_PASSWORD},
        headers={"User-Agent": FIREFOX},
        environ_base={"REMOTE_ADDR": ip},
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
    assert "/account/security" in alert.text  # alerts.SECURITY_PAGE


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


def test_the_place_is_the_ip_without_a_geoip_database(app):
    with app.app_context():
        assert place_for("203.0.113.7") == "203.0.113.7"
        assert place_for(None) == "an unknown address"


def _geoip_database(path) -> str:
    """A real MaxMind-format database (written with mmdb-writer) that knows one network."""
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-City")
    writer.insert_network(
        IPSet(["203.0.113.0/24"]), {"city": {"names": {"en": "Lisbon"}}, "country": {"names": {"en": "Portugal"}}}
    )
    target = str(path / "city.mmdb")
    writer.to_db_file(target)
    return target


def test_with_a_geoip_database_the_alert_names_the_city_and_country(app, tmp_path):
    app.config["GEOIP_DATABASE"] = _geoip_database(tmp_path)
    with app.app_context():
        assert place_for("203.0.113.7") == "Lisbon, Portugal (203.0.113.7)"
        assert place_for("198.51.100.1") == "198.51.100.1"  # not in the database
        assert place_for("not-an-ip") == "not-an-ip"
    _signed_in_before(app)
    _log_in(app.test_client(), ip="203.0.113.7")
    [alert] = delivered(app, "new_sign_in")
    assert "Lisbon, Portugal (203.0.113.7)" in alert.text


def test_an_unreadable_geoip_database_falls_back_to_the_ip(app, tmp_path):
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    app.config["GEOIP_DATABASE"] = str(broken)
    with app.app_context():
        assert place_for("203.0.113.7") == "203.0.113.7"
