"""Make users and sign them in, for tests of features behind login."""

from __future__ import annotations

import itertools

import pytest

from app.auth.passwords import hash_password
from app.extensions import db
from app.models.base import utcnow
from app.models.user import User, UserSession
from app.rbac import role_named

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"
_HASH_CACHE: dict[str, str] = {}


def make_user(
    *,
    username: str | None = None,
    email: str | None = None,
    password: str | None = DEFAULT_PASSWORD,
    role: str = "customer",
    verified: bool = True,
    **fields,
) -> User:
    """Create and commit a user (inside an app context)."""
    n = next(_counter)
    username = username or f"user{n}"
    if password is not None and password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)  # argon2 is slow on purpose; hash once per test run
    user = User(
        username=username,
        email=email or f"{username}@example.test",
        password_hash=_HASH_CACHE.get(password) if password else None,
        role=role_named(role),
        email_verified_at=utcnow() if verified else None,
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def sign_in(client, user: User) -> UserSession:
    """Give `client` a live server-side session for `user`, as a successful login would."""
    record = UserSession(user_id=user.id, device="Test client", ip="127.0.0.1")
    db.session.add(record)
    db.session.commit()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = str(record.id)
        flask_session["_fresh"] = True
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
