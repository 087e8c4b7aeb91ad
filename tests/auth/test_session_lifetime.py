"""A sign-in ends: 30 days after it started (remembered or not), or after 2 idle hours unless remembered.

Checked on every request against the server-side session row, so an old cookie, replayed, signs
no one in; the browser is sent to the login page with the reason.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.user import UserSession
from tests.support.users import DEFAULT_PASSWORD

HTMX = {"HX-Request": "true"}


def _login(app, *, remember: bool):
    client = app.test_client()
    data = {"identifier": "ada", "password": DEFAULT_PASSWORD, **({"remember": "y"} if remember else {})}
    assert client.post("/auth/login", data=data).status_code == 303
    return client


def _age(app, *, started: timedelta | None = None, last_seen: timedelta | None = None) -> None:
    """Move the session's clock back: it started `started` ago, its last request was `last_seen` ago."""
    values = {}
    if started is not None:
        values["created_at"] = utcnow() - started
    if last_seen is not None:
        values["last_seen_at"] = utcnow() - last_seen
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(**values))
        db.session.commit()


def _shift(app, minutes: int) -> None:
    """Let `minutes` pass for the session (its last request moves that much further into the past)."""
    with app.app_context():
        for record in db.session.scalars(sa.select(UserSession)):
            record.last_seen_at -= timedelta(minutes=minutes)
            record.created_at -= timedelta(minutes=minutes)
        db.session.commit()


def _signed_in(client) -> bool:
    return 'action="/auth/logout"' in client.get("/").text


def _ended(app) -> bool:
    with app.app_context():
        return db.session.scalar(sa.select(UserSession.revoked_at)) is not None


def test_a_remembered_sign_in_400_days_old_is_refused_and_sent_to_login_with_the_reason(app, user):
    client = _login(app, remember=True)
    _age(app, started=timedelta(days=400), last_seen=timedelta(minutes=5))
    response = client.get("/account/profile")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login?next=/account/profile"
    page = client.get(response.headers["Location"]).text
    assert "a sign-in lasts 30 days" in page and "Please sign in again" in page
    assert _ended(app)
    assert client.get_cookie("remember_token") is None  # the remember-me cookie is deleted too
    assert not _signed_in(client)


def test_the_remember_me_cookie_alone_is_refused_after_30_days(app, user):
    client = _login(app, remember=True)
    client.delete_cookie("session")  # the browser was closed: only the remember-me cookie is left
    assert _signed_in(client)
    client.delete_cookie("session")
    _age(app, started=timedelta(days=30, minutes=1))
    assert not _signed_in(client)
    assert _ended(app) and client.get_cookie("remember_token") is None


@pytest.mark.parametrize("absolute_days,cookie_days", [(30, 30), (7, 7), (365, 30)])
def test_remember_me_lasts_as_long_as_a_sign_in_and_never_more_than_30_days(make_app, absolute_days, cookie_days):
    from tests.support.users import make_user

    app = make_app(SESSION_ABSOLUTE_DAYS=absolute_days)
    with app.app_context():
        make_user(username="ada")
    client = _login(app, remember=True)
    lasts = client.get_cookie("remember_token").expires - utcnow()
    assert timedelta(days=cookie_days) - timedelta(minutes=1) < lasts <= timedelta(days=cookie_days)


def test_a_sign_in_without_remember_me_ends_after_two_idle_hours(app, user):
    client = _login(app, remember=False)
    _age(app, last_seen=timedelta(minutes=119))
    assert _signed_in(client)
    _age(app, last_seen=timedelta(minutes=121))
    response = client.get("/subscriptions/")
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login?next=/subscriptions/"
    assert "signed out after 2 hours without activity" in client.get(response.headers["Location"]).text
    assert _ended(app)


def test_a_remembered_sign_in_survives_idle_hours_until_its_30_days_are_up(app, user):
    client = _login(app, remember=True)
    _age(app, started=timedelta(days=29), last_seen=timedelta(days=3))
    assert _signed_in(client)
    _age(app, started=timedelta(days=30, minutes=1))
    assert not _signed_in(client)


def test_the_idle_timeout_and_lifetime_come_from_the_settings(make_app):
    from tests.support.users import make_user

    app = make_app(SESSION_IDLE_MINUTES=15, SESSION_ABSOLUTE_DAYS=1)
    with app.app_context():
        make_user(username="ada")
    client = _login(app, remember=False)
    _age(app, last_seen=timedelta(minutes=16))
    page = client.get("/", follow_redirects=True).text
    assert "signed out after 15 minutes without activity" in page
    remembered = _login(app, remember=True)
    _age(app, started=timedelta(days=1, minutes=1))
    assert "a sign-in lasts 1 day." in remembered.get("/", follow_redirects=True).text


def test_an_expired_htmx_request_sends_the_whole_tab_to_login(app, user):
    client = _login(app, remember=False)
    _age(app, last_seen=timedelta(hours=3))
    response = client.get("/notifications/badge", headers={**HTMX, "HX-Current-URL": "http://localhost/invoices/"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/auth/login?next=/invoices/"
    assert "without activity" in client.get("/auth/login").text


def test_an_expired_form_post_changes_nothing_and_returns_to_its_page_after_login(app, user):
    client = _login(app, remember=False)
    _age(app, last_seen=timedelta(hours=3))
    response = client.post(
        "/account/profile", data={"first_name": "Eve"}, headers={"Referer": "http://localhost/account/profile"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login?next=/account/profile"
    with app.app_context():
        from app.models.user import User

        assert db.session.scalar(sa.select(User.first_name)) == "Ada"


def test_the_badge_poll_of_an_open_tab_does_not_keep_a_session_alive(app, user):
    client = _login(app, remember=False)
    _age(app, last_seen=timedelta(minutes=119))
    assert client.get("/notifications/badge", headers=HTMX).status_code == 200
    _shift(app, 2)
    response = client.get("/notifications/badge", headers=HTMX)
    assert response.status_code == 401 and "HX-Redirect" in response.headers


def test_a_page_request_does_keep_the_session_alive(app, user):
    client = _login(app, remember=False)
    _age(app, last_seen=timedelta(minutes=119))
    assert _signed_in(client)
    _shift(app, 2)
    assert _signed_in(client)


def test_a_busy_session_writes_its_last_seen_time_at_most_once_a_minute(app, user, count_queries):
    client = _login(app, remember=False)
    _age(app, last_seen=timedelta(minutes=2))
    with count_queries() as queries:
        for _ in range(5):
            assert client.get("/account/profile").status_code == 200
    writes = [s for s in queries.statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]
    assert len(writes) == 1, writes


def test_the_sessions_page_lists_only_sign_ins_that_still_work(app, user):
    laptop = _login(app, remember=False)
    _age(app, last_seen=timedelta(hours=3))  # this one idled out, unnoticed (its browser never came back)
    phone = _login(app, remember=True)
    page = phone.get("/account/sessions").text
    assert page.count("<tr>") - 1 == 1 and "This is your only active session" in page
    assert phone.post("/account/sessions/end-others").status_code == 303
    assert "No other sessions to end." in phone.get("/account/sessions").text
    assert not _signed_in(laptop)
