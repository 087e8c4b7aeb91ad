"""Password reset by emailed link, and password change.

The link carries a signed token (itsdangerous, 1 hour) holding the user id and
a fingerprint of the current password hash and change time: once the password
changes, by this link or any other way, every older link stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app import audit, outbox
from app.auth import throttle
from app.auth.emails import email_key
from app.auth.passwords import hash_password, password_problem, verify_password
from app.auth.services import user_by_email
from app.auth.sessions import end_other_sessions
from app.dates import iso_instant
from app.errors import AuthenticationError, ValidationError
from app.extensions import db
from app.links import external_url
from app.mail.services import queue_email
from app.models.base import utcnow
from app.models.user import User

TOKEN_MAX_AGE = 3600
SALT = "password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    changed = user.password_changed_at.isoformat() if user.password_changed_at else ""
    return hashlib.sha256(f"{user.password_hash}|{changed}".encode()).hexdigest()[:20]


def make_reset_token(user: User) -> str:
    return _serializer().dumps({"u": str(user.id), "f": _fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The user a live token belongs to; None if forged, older than an hour, used or outdated."""
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
        user = db.session.get(User, uuid.UUID(str(data["u"])))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if user is None or not user.is_active or not hmac.compare_digest(str(data.get("f", "")), _fingerprint(user)):
        return None
    return user


def request_password_reset(email: str) -> None:
    """Queue a reset link for the address; the job signs and sends it only if an active account has it.

    The same work whatever the address (one lookup, one audit row, one job), so
    neither the answer nor its timing tells who has an account. The token is
    signed in the worker: it never travels in the job's arguments.
    """
    email = email_key(email)
    throttle.hit("password_reset", email)
    user = user_by_email(email)
    audit.record(
        "password.reset_requested",
        actor_id=user.id if user else None,
        target=user,
        target_type="users",
        after={"email": email},
    )
    outbox.enqueue("jobs.auth.send_password_reset", email, queue="high")
    db.session.commit()


def set_password(
    user: User, password: str, *, action: str, keep_session: uuid.UUID | None = None, ip: str | None = None
) -> int:
    """Store a new password, end the other sessions, email the notice (naming `ip`), audit. Returns sessions ended."""
    problem = password_problem(password, username=user.username, email=user.email)
    if problem:
        raise ValidationError({"password": problem})
    now = utcnow()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    ended = end_other_sessions(user, keep=keep_session)
    audit.record(action, actor_id=user.id, target=user, after={"sessions_ended": ended})
    queue_email(
        user.email,
        "password_changed",
        {
            "name": user.display_name,
            "when": iso_instant(now),  # shown on the recipient's clock (app/mail/services.py)
            "ip": ip or "unknown",
            "reset_url": external_url("auth.password_reset_request"),
        },
        user_id=user.id,
    )
    db.session.commit()
    return ended


def reset_password(
    user: User, password: str, *, current_session: uuid.UUID | None = None, ip: str | None = None
) -> int:
    return set_password(user, password, action="password.reset", keep_session=current_session, ip=ip)


def change_password(user: User, current: str, new: str, *, ip: str | None = None) -> int:
    """Replace the password after checking the current one (AuthenticationError on that field if wrong)."""
    if not verify_password(user.password_hash, current):
        audit.record("password.change_failed", actor_id=user.id, target=user)
        db.session.commit()
        raise AuthenticationError("That isn't your current password.", field="current_password")
    return set_password(user, new, action="password.changed", keep_session=user.current_session_id, ip=ip)
