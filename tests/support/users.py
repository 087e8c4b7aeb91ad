"""Make users and sign them in, for tests of features behind login."""

from __future__ import annotations

import time

import pytest

from app.auth import stepup
from app.extensions import db
from app.models.user import User, UserSession
from tests.factories import DEFAULT_PASSWORD, UserFactory

__all__ = ["DEFAULT_PASSWORD", "make_user", "sign_in"]


def make_user(
    *,
    username: str | None = None,
    email: str | None = None,
    password: str | None = DEFAULT_PASSWORD,
    role: str = "customer",
    verified: bool = True,
    **fields,
) -> User:
    """UserFactory under the name fifty-odd tests know (inside an app context; commits)."""
    given = {name: value for name, value in (("username", username), ("email", email)) if value is not None}
    return UserFactory(password=password, role=role, verified=verified, **given, **fields)


def sign_in(client, user: User, *, recent: bool = True) -> UserSession:
    """Give `client` a live server-side session for `user`, as a successful login would.

    `recent=False` is a session restored from the remember-me cookie: signed in, but not
    authenticated in the last 10 minutes (step-up pages ask to confirm first).
    """
    record = UserSession(user_id=user.id, device="Test client", ip="127.0.0.1")
    db.session.add(record)
    db.session.commit()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(record.id)
        flask_session["_fresh"] = True
        if recent:
            flask_session[stepup.STAMP] = int(time.time())
    return record


@pytest.fixture
def user(app):
    with app.app_context():
        created = make_user(username="ada", first_name="Ada", last_name="Lovelace")
        db.session.refresh(created)  # the commit expired it; load before detaching
        db.session.expunge(created)
    return created


@pytest.fixture
def signed_in(app, client, user):
    """A client signed in as `user`."""
    with app.app_context():
        sign_in(client, user)
    return client
