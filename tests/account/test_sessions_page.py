"""The sessions page: list, end one, end all others (HTMX and plain forms); at most five."""

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User, UserSession
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _login(app, username="ada", agent=CHROME, ip="127.0.0.1"):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": ip})
    assert client.post("/auth/login", data={"identifier": username, "password": DEFAULT_PASSWORD}).status_code == 303
    return client


def _live(app):
    with app.app_context():
        return db.session.scalars(
            sa.select(UserSession).where(UserSession.revoked_at.is_(None)).order_by(UserSession.created_at)
        ).all()


def _signed_in(client) -> bool:
    return 'action="/auth/logout"' in client.get("/").text


def test_sessions_show_device_ip_and_last_seen(app, user):
    laptop = _login(app, ip="203.0.113.7")
    _login(
        app,
        agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        ip="198.51.100.4",
    )
    page = laptop.get("/account/sessions").text
    assert "Chrome on Windows" in page and "Mobile Safari on iOS" in page
    assert "203.0.113.7" in page and "198.51.100.4" in page
    assert page.count("This device") == 1


def test_end_one_session_with_htmx_replaces_the_list(app, user):
    laptop, phone = _login(app), _login(app)
    phone_session = _live(app)[1]
    response = laptop.post(f"/account/sessions/{phone_session.id}/end", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="session-list"') and "<html" not in response.text
    assert "Signed out" in response.text
    assert not _signed_in(phone) and _signed_in(laptop)


def test_ending_one_of_three_sessions_with_htmx_keeps_the_third_listed_with_its_own_sign_out(app, user):
    laptop, phone, tablet = _login(app), _login(app), _login(app)
    phone_session, tablet_session = _live(app)[1], _live(app)[2]
    response = laptop.post(f"/account/sessions/{phone_session.id}/end", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Retarget" not in response.headers  # the list, not an error toast
    assert response.text.lstrip().startswith('<section id="session-list"')
    assert f"/account/sessions/{tablet_session.id}/end" in response.text and 'name="csrf_token"' in response.text
    assert "Sign out all other sessions" in response.text
    assert not _signed_in(phone) and _signed_in(tablet) and _signed_in(laptop)


def test_end_one_session_without_javascript_redirects_back(app, user):
    laptop, phone = _login(app), _login(app)
    response = laptop.post(f"/account/sessions/{_live(app)[1].id}/end")
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/sessions")
    assert not _signed_in(phone)


def test_someone_elses_session_is_not_found(app, user):
    laptop = _login(app)
    with app.app_context():
        other = make_user(username="mallory")
        theirs = sign_in(app.test_client(), other)
    assert laptop.post(f"/account/sessions/{theirs.id}/end").status_code == 404
    assert len(_live(app)) == 2


def test_end_all_other_sessions_keeps_this_one(app, user):
    clients = [_login(app) for _ in range(3)]
    response = clients[0].post("/account/sessions/end-others")
    assert response.status_code == 303
    assert _signed_in(clients[0]) and not any(_signed_in(c) for c in clients[1:])
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.after).where(AuditEvent.action == "session.ended_others")) == {
            "sessions_ended": 2
        }


def test_a_sixth_login_ends_the_oldest_session(app, user):
    clients = [_login(app) for _ in range(6)]
    assert len(_live(app)) == 5
    assert not _signed_in(clients[0]) and all(_signed_in(c) for c in clients[1:])


def test_changing_the_password_ends_the_other_sessions(app, user):
    laptop, phone = _login(app), _login(app)
    response = laptop.post(
        "/account/password", data={"current_password": DEFAULT_PASSWORD, "password": "a fresh long passphrase"}
    )
    assert response.status_code == 303
    assert _signed_in(laptop) and not _signed_in(phone)
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "password.changed"))
        assert db.session.scalar(sa.select(User.password_changed_at).where(User.username == "ada")) is not None


def test_a_wrong_current_password_changes_nothing(app, user):
    laptop, phone = _login(app), _login(app)
    response = laptop.post(
        "/account/password", data={"current_password": "not it at all", "password": "a fresh long passphrase"}
    )
    assert response.status_code == 401 and 'id="current_password-error"' in response.text
    assert _signed_in(phone)


def test_session_actions_need_a_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = make_user(username="ada")
        client = app.test_client()
        record = sign_in(client, user)
    assert client.post("/account/sessions/end-others").status_code == 400
    assert client.post(f"/account/sessions/{record.id}/end").status_code == 400
    assert client.post("/auth/logout").status_code == 400
    assert _signed_in(client)
