"""Step-up ("sudo mode", ASVS V7.5.1): sensitive changes need an authentication in the last 10 minutes.

A sign-in stamps the browser's session (`mark_recent`); so does confirming one's password, an
authenticator or recovery code (accounts with a second factor), or an emailed code when the
account has no password, on /account/confirm. A session restored from the
remember-me cookie starts a fresh Flask session without the stamp: it has not authenticated
recently. Views that change a password, email, second factor, delete or export an account, or
change staff roles wear `@stepup.required`: without a recent stamp the person is sent to confirm,
and back to the page they were on afterwards.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from app import audit
from app.auth import mfa, throttle
from app.auth.otp import queue_code, verify_otp
from app.auth.passwords import verify_password
from app.errors import AuthenticationError
from app.extensions import db
from app.models.user import User

V = TypeVar("V", bound=Callable[..., ResponseReturnValue])

RECENT_FOR = timedelta(minutes=10)
STAMP = "authenticated_at"
BAD_PASSWORD = "That password isn’t right."  # noqa: S105 (a message, not a secret)
BAD_CODE = "That code is wrong or has expired. Check the latest email, or ask for a new code."


def mark_recent() -> None:
    """This browser authenticated just now (a sign-in, or a confirmation on /account/confirm)."""
    session[STAMP] = int(time.time())


def is_recent() -> bool:
    stamp = session.get(STAMP)
    return isinstance(stamp, int) and 0 <= time.time() - stamp <= RECENT_FOR.total_seconds()


def seconds_left() -> int:
    """How long the current confirmation still lasts (0 when there is none)."""
    stamp = session.get(STAMP)
    if not isinstance(stamp, int):
        return 0
    return max(0, int(stamp + RECENT_FOR.total_seconds() - time.time()))


def required(view: V) -> V:
    """Send the person to confirm it's them first, unless they authenticated in the last 10 minutes.

    A GET comes back to itself afterwards; a POST can't be replayed, so it comes back to the
    page that sent it (its form, still there to submit again).
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if is_recent():
            return view(*args, **kwargs)
        back = request.full_path.rstrip("?") if request.method == "GET" else _referring_path()
        target = url_for("account.confirm", next=back)
        if request.headers.get("HX-Request") == "true":
            return "", 204, {"HX-Redirect": target}
        return redirect(target, 303)

    return cast(V, wrapper)


def _referring_path() -> str | None:
    """The path of the page that sent this request, when it is one of ours (/account/confirm checks it again)."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def confirm_with_password(user: User, password: str) -> None:
    """Stamp this browser when `password` is the user's; AuthenticationError (field password) if not.

    Failures count towards the same per-account lock as the login form's.
    """
    key = str(user.id)
    throttle.check("login_failed", key)
    if not verify_password(user.password_hash, password):
        audit.record("auth.reauth_failed", actor_id=user.id, target=user, after={"method": "password"})
        db.session.commit()
        throttle.hit("login_failed", key)
        raise AuthenticationError(BAD_PASSWORD, field="password")
    throttle.clear("login_failed", key)
    _confirmed(user, "password")


def send_code(user: User) -> None:
    """Email a confirmation code to the account's address (RateLimited inside the cooldown)."""
    queue_code(user, "reauth", target=user.email)
    db.session.commit()


def confirm_with_code(user: User, code: str) -> None:
    if not verify_otp(user, "reauth", code):
        audit.record("auth.reauth_failed", actor_id=user.id, target=user, after={"method": "email_code"})
        db.session.commit()
        raise AuthenticationError(BAD_CODE, field="code")
    _confirmed(user, "email_code")


def confirm_with_second_factor(user: User, code: str) -> None:
    """Stamp this browser when `code` is a current authenticator code or an unused recovery code of the user's."""
    factor = mfa.verify_second_factor(user, code, action="auth.reauth_failed")
    _confirmed(user, factor)


def _confirmed(user: User, method: str) -> None:
    mark_recent()
    audit.record("auth.reauthenticated", actor_id=user.id, target=user, after={"method": method})
    db.session.commit()
