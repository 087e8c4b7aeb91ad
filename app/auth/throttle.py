"""Rate limits for the identity endpoints.

Per-IP limits are Flask-Limiter decorators (storage: Redis; X-RateLimit-*
headers). Per-account limits are our own fixed-window counters in Redis, keyed
by a hash of the account (user id, or what was typed when no user matches, so
unknown and known accounts behave alike). When Redis is down the per-IP limits
fall back to per-process memory (Flask-Limiter) and the per-account counters
are skipped with a warning: sign-in keeps working, never a 500.
"""

from __future__ import annotations

import hashlib
import logging
import math

import redis
from flask import current_app
from werkzeug.wrappers import Response

from app.errors import RateLimited
from app.extensions import limiter
from app.redis_client import get_redis

log = logging.getLogger(__name__)

# Per IP (Flask-Limiter).
LOGIN_PER_IP = "30/minute"
FAILED_LOGIN_PER_IP = "10/minute"
SIGNUP_PER_IP = "20/minute"
RESET_PER_IP = "20/minute"
CODE_REQUESTS_PER_IP = "20/minute"
USERNAME_CHECK_PER_IP = "100/minute"

# Per account: (limit, window seconds, message).
ACCOUNT_LIMITS = {
    "login_failed": (5, 300, "Too many failed sign-ins for this account. Try again in {wait}, or reset your password."),
    # A browser that signed in to the account before (app/auth/devices.py): counted per device cookie.
    "device_failed": (
        5,
        300,
        "Too many failed sign-ins from this browser. Try again in {wait}, or reset your password.",
    ),
    "password_reset": (5, 60, "Too many reset requests for this address. Try again in {wait}."),
    "code_request": (3, 60, "Too many code requests for this account. Try again in {wait}."),
}


def _failed(response: Response) -> bool:
    return bool(response.status_code == 401)


# Shared by every form that checks a secret (password or code): 10 failures a minute per IP.
failed_login_limit = limiter.shared_limit(
    FAILED_LOGIN_PER_IP, scope="failed-login", methods=["POST"], deduct_when=_failed
)
code_request_limit = limiter.shared_limit(CODE_REQUESTS_PER_IP, scope="code-request", methods=["POST"])


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED"))


def _key(kind: str, account: str) -> str:
    digest = hashlib.sha256(str(account).strip().lower().encode()).hexdigest()[:32]
    return f"{current_app.config.get('RATELIMIT_KEY_PREFIX', 'rl')}:account:{kind}:{digest}"


def _words(seconds: int) -> str:
    if seconds < 90:
        return f"{max(seconds, 1)} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _refuse(kind: str, ttl: int) -> RateLimited:
    limit, window, message = ACCOUNT_LIMITS[kind]
    wait = ttl if ttl and ttl > 0 else window
    return RateLimited(message.format(wait=_words(wait)), retry_after=wait)


def check(kind: str, account: str) -> None:
    """Raise RateLimited if `account` has used up `kind`, without counting this attempt."""
    if not _enabled():
        return
    limit = ACCOUNT_LIMITS[kind][0]
    client = get_redis()
    try:
        key = _key(kind, account)
        count = int(client.get(key) or 0)
        if count >= limit:
            raise _refuse(kind, client.ttl(key))
    except redis.RedisError as exc:
        log.warning("per-account limit %s skipped, Redis unavailable: %s", kind, exc)


def hit(kind: str, account: str) -> None:
    """Count one attempt; raise RateLimited when it goes past the limit."""
    if not _enabled():
        return
    limit, window, _ = ACCOUNT_LIMITS[kind]
    client = get_redis()
    try:
        key = _key(kind, account)
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            pipe.ttl(key)
            count, _, ttl = pipe.execute()
    except redis.RedisError as exc:
        log.warning("per-account limit %s skipped, Redis unavailable: %s", kind, exc)
        return
    if count > limit:
        raise _refuse(kind, ttl)


def clear(kind: str, account: str) -> None:
    if not _enabled():
        return
    try:
        get_redis().delete(_key(kind, account))
    except redis.RedisError as exc:
        log.warning("per-account limit %s not cleared, Redis unavailable: %s", kind, exc)
