"""A phone number identifies an account only once verified;
verifying it takes it from whoever else holds it, with a notice."""

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.notification import Notification
from app.models.user import User
from tests.auth.conftest import last_code, queued_emails
from tests.support.oidc import signed_in_as
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in

NUMBER, TYPED = "+14155550100", "+1 415 555 0100"
PROFILE = {
    "first_name": "",
    "last_name": "",
    "gender": "",
    "date_of_birth": "",
    "line1": "",
    "line2": "",
    "city": "",
    "region": "",
    "postal_code": "",
    "country": "",
}


def _login(identifier, app):
    return app.test_client().post("/auth/login", data={"identifier": identifier, "password": DEFAULT_PASSWORD})


def _signed_in_with(identifier, app) -> str | None:
    client = app.test_client()
    client.post("/auth/login", data={"identifier": identifier, "password": DEFAULT_PASSWORD})
    return signed_in_as(client)


def _user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _ask_for_code(client, app) -> str:
    """Put the number on the profile; the code texted for it."""
    assert client.post("/account/profile", data={**PROFILE, "phone": TYPED}).status_code == 303
    return last_code(app, "sms")


def _client_for(app, **fields):
    client = app.test_client()
    with app.app_context():
        user = make_user(**fields)
        sign_in(client, user)
        return client, user.id


def test_an_unverified_number_does_not_sign_in(app):
    with app.app_context():
        make_user(username="ada", phone=NUMBER)
    assert _login(TYPED, app).status_code == 401
    assert _login("ada", app).status_code == 303


def test_a_verified_number_signs_in(app):
    with app.app_context():
        make_user(username="ada", phone=NUMBER, phone_verified_at=utcnow())
    assert _signed_in_with(TYPED, app) == "ada"


def test_signup_keeps_a_number_someone_else_holds_unverified_and_it_signs_in_nobody(app, client):
    with app.app_context():
        holder = make_user(username="grace", phone=NUMBER, phone_verified_at=utcnow()).id
    response = client.post(
        "/auth/signup",
        data={
            "username": "mallory",
            "email": "mallory@example.com",
            "password": "analytical engine 1843",
            "phone": TYPED,
        },
    )
    assert response.status_code == 303
    with app.app_context():
        mallory = db.session.scalar(sa.select(User).where(User.username == "mallory"))
        assert (mallory.phone, mallory.phone_verified_at) == (NUMBER, None)
    assert _user(app, holder).phone == NUMBER and _user(app, holder).phone_verified_at is not None
    assert _signed_in_with(TYPED, app) == "grace"  # her verified number is the one that identifies


def test_verifying_a_number_another_account_verified_releases_it_with_a_notice(app, smtp_sink, run_jobs):
    with app.app_context():
        holder = make_user(username="grace", email="grace@example.com", phone=NUMBER, phone_verified_at=utcnow()).id
    ada, ada_id = _client_for(app, username="ada")
    assert ada.post("/account/phone/verify", data={"code": _ask_for_code(ada, app)}).status_code == 303

    assert (_user(app, ada_id).phone, _user(app, holder).phone) == (NUMBER, None)
    with app.app_context():
        notice = db.session.scalar(sa.select(Notification).where(Notification.user_id == holder))
        assert notice.kind == "phone_released" and "ending 0100" in notice.body and notice.link == "/account/profile"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.phone_released"))
        assert (event.actor_id, event.target_id, event.after) == (ada_id, str(holder), {"was_verified": True})
    [email] = queued_emails(app, "phone_released")
    assert email["to"] == "grace@example.com"
    run_jobs()
    [delivered] = smtp_sink.to("grace@example.com")
    assert "no longer signs you in" in smtp_sink.text(delivered)
    assert _signed_in_with(TYPED, app) == "ada"  # the number now names ada


def test_every_unverified_copy_of_the_number_is_released_too_each_with_a_notice(app):
    with app.app_context():
        squatters = [make_user(username=f"squatter{n}", phone=NUMBER).id for n in range(2)]
    ada, ada_id = _client_for(app, username="ada")
    assert ada.post("/account/phone/verify", data={"code": _ask_for_code(ada, app)}).status_code == 303
    assert [_user(app, s).phone for s in squatters] == [None, None]
    assert sorted(m["to"] for m in queued_emails(app, "phone_released")) == [
        "squatter0@example.test",
        "squatter1@example.test",
    ]
    with app.app_context():
        bodies = db.session.scalars(sa.select(Notification.body).where(Notification.kind == "phone_released")).all()
        assert len(bodies) == 2 and all("you hadn't verified it" in b for b in bodies)


def test_the_database_keeps_a_verified_number_on_one_account_and_lets_unverified_ones_collide(app):
    with app.app_context():
        make_user(username="one", phone=NUMBER)
        make_user(username="two", phone=NUMBER)
        make_user(username="verified", phone=NUMBER, phone_verified_at=utcnow())
        with pytest.raises(IntegrityError):
            make_user(username="again", phone=NUMBER, phone_verified_at=utcnow())
        db.session.rollback()


@pytest.mark.postgres
def test_two_accounts_verifying_one_number_at_once_end_with_one_owner(app):
    clients = [_client_for(app, username=name) for name in ("ada", "grace")]
    codes = [_ask_for_code(client, app) for client, _ in clients]
    barrier = threading.Barrier(2)
    statuses = []

    def verify(client, code):
        barrier.wait()
        statuses.append(client.post("/account/phone/verify", data={"code": code}).status_code)

    threads = [
        threading.Thread(target=verify, args=(client, code)) for (client, _), code in zip(clients, codes, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303, 303]  # both proved the number; the later one owns it
    phones = [_user(app, user_id).phone for _, user_id in clients]
    assert sorted(phones, key=str) == sorted([NUMBER, None], key=str)
    assert len(queued_emails(app, "phone_released")) == 1
