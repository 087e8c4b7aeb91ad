"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

A per-account lockout lets a stranger lock the owner out: five wrong passwords from anywhere
and nobody signs in for five minutes. So a browser that has signed in to an account gets a
signed cookie naming that account and a random nonce. Wrong passwords from a browser that
presents a valid cookie for the account are counted against that cookie alone (5 in 5 minutes
lock out that browser); attempts without one are limited per account as before. Strangers
can still lock out strangers, never the owner's own browser.

The cookie is not a credential: it only decides which counter a failed password goes to.
"""

from __future__ import annotations

import secrets
import uuid

from flask import after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "device"
PATH = "/auth"  # every sign-in (password, code, verification, social) happens under /auth
MAX_ACCOUNTS = 5  # accounts one browser is remembered for (a shared family computer)
MAX_COOKIE = 1200


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="device-cookie")


def _max_age() -> int:
    return int(current_app.config["DEVICE_COOKIE_DAYS"]) * 86400


def presented() -> dict[str, str]:
    """{user id: nonce} this browser's device cookie vouches for; {} without a valid one."""
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > MAX_COOKIE:
        return {}
    try:
        entries = _serializer().loads(raw, max_age=_max_age())
    except BadSignature:
        return {}
    if not isinstance(entries, list):
        return {}
    return {str(e[0]): str(e[1]) for e in entries if isinstance(e, list) and len(e) == 2}


def trust_this_browser(user_id: uuid.UUID) -> None:
    """After a sign-in: give this browser a device cookie for `user_id` with a fresh nonce (this response sets it)."""
    others = [[u, n] for u, n in presented().items() if u != str(user_id)][: MAX_ACCOUNTS - 1]
    value = _serializer().dumps([[str(user_id), secrets.token_urlsafe(16)], *others])

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            COOKIE,
            value,
            max_age=_max_age(),
            path=PATH,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        return response
