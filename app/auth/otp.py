"""One-time codes: issue and verify.

Rules (SPEC §1): 6 digits, only an HMAC of the code is stored, 10-minute
expiry, single use, the 5th wrong attempt voids the code, a new code voids the
older active one of the same purpose, 60 s between codes and at most 5 per hour
for one user and purpose. Verification locks the row, so concurrent submits
neither both succeed nor miscount.

The request that asks for a code issues the row and queues a job with its id;
the code is derived from the row's random id with SECRET_KEY (`code_for`), again
by the job that sends it. So no code is ever in a job's arguments or a log, and
a retried job sends the same code.

Without a user, a code proves an email address (`target`) that has no account
yet, or whose account must not be named: the same rules apply per address. A
request for an address with no account is recorded the same way, so it costs
and answers the same; its code is never sent.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from app import outbox
from app.errors import RateLimited
from app.extensions import db
from app.models.base import utcnow
from app.models.otp import OTP_PURPOSES, UserOTP
from app.models.user import User

CODE_TTL = timedelta(minutes=10)
# A code that waits in another inbox (the new address of an email change) lives longer.
CODE_TTLS = {"change_email": timedelta(hours=1)}
MAX_ATTEMPTS = 5
COOLDOWN = timedelta(seconds=60)
HOURLY_CAP = 5
WINDOW = timedelta(hours=1)


def ttl_for(purpose: str) -> timedelta:
    """How long a code of `purpose` stays valid (10 minutes unless CODE_TTLS says otherwise)."""
    return CODE_TTLS.get(purpose, CODE_TTL)


def _digest(otp_id: uuid.UUID, code: str) -> str:
    # Keyed with SECRET_KEY and salted with the row id: a database dump alone
    # does not reveal a code (a million candidates are nothing for plain SHA-256).
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{otp_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _owned_by(user: User | None, purpose: str, target: str | None) -> sa.ColumnElement[bool]:
    """The codes of `user` for `purpose`; without a user, the codes that prove `target`."""
    owner = (
        UserOTP.user_id == user.id if user is not None else sa.and_(UserOTP.user_id.is_(None), UserOTP.target == target)
    )
    return sa.and_(owner, UserOTP.purpose == purpose)


def _serialize(user: User | None, purpose: str, target: str | None) -> None:
    """One issuer at a time per owner, so two quick requests can't both pass the cooldown.

    A transaction-scoped lock on the owner (the user, or the address before it has
    an account): the same statement whether or not an account exists.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        owner = user.id if user is not None else target
        key = int.from_bytes(hashlib.sha256(f"otp:{purpose}:{owner}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    # SQLite (embedded development mode) runs one writer at a time anyway.


def code_for(otp: UserOTP) -> str:
    """The 6 digits of `otp`: an HMAC (keyed with SECRET_KEY) of its random id.

    The id is 122 bits from the OS's cryptographic RNG; the keyed HMAC makes the
    digits unpredictable without SECRET_KEY, as a stored HMAC of a random code was.
    """
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"otp-code:{otp.id}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**6:06d}"


def issue_otp(user: User | None, purpose: str, *, target: str | None = None) -> UserOTP:
    """Create a code for `user` (or, with user None, for the address `target`); the code is `code_for(row)`.

    Voids the older active code of the same purpose. Raises RateLimited (with
    retry_after) inside the cooldown or past the hourly cap. Does not commit:
    the caller queues the job that sends it and commits both together.
    """
    if purpose not in OTP_PURPOSES:
        raise ValueError(f"unknown OTP purpose {purpose!r}")
    if user is None and not target:
        raise ValueError("a code without a user needs the target it proves")
    now = utcnow()
    _serialize(user, purpose, target)
    owned = _owned_by(user, purpose, target)
    recent = db.session.scalars(
        sa.select(UserOTP.created_at)
        .where(owned, UserOTP.created_at > now - WINDOW)
        .order_by(UserOTP.created_at.desc())
    ).all()
    if recent and now - recent[0] < COOLDOWN:
        wait = math.ceil((recent[0] + COOLDOWN - now).total_seconds())
        raise RateLimited(f"Please wait {wait} seconds before asking for another code.", retry_after=wait)
    if len(recent) >= HOURLY_CAP:
        wait = math.ceil((recent[-1] + WINDOW - now).total_seconds())
        minutes = max(1, math.ceil(wait / 60))
        raise RateLimited(
            f"You've asked for {HOURLY_CAP} codes this hour. Try again in {minutes} minutes.", retry_after=wait
        )
    db.session.execute(sa.update(UserOTP).where(owned, UserOTP.status == "active").values(status="void"))
    otp = UserOTP(
        id=uuid.uuid4(),
        user_id=user.id if user is not None else None,
        purpose=purpose,
        target=target,
        created_at=now,
        expires_at=now + ttl_for(purpose),
    )
    otp.code_hash = _digest(otp.id, code_for(otp))
    db.session.add(otp)
    db.session.flush()
    return otp


def queue_code(user: User | None, purpose: str, *, target: str, name: str | None = None) -> UserOTP:
    """Issue a code and queue the job that sends it, on the high queue (codes can't wait). Does not commit.

    The job gets the code's id only (and the greeting for an address with no
    account yet); it makes the code and decides where it goes (app/auth/deliveries.py).
    """
    otp = issue_otp(user, purpose, target=target)
    outbox.enqueue("jobs.auth.send_code", str(otp.id), queue="high", **({"name": name} if name else {}))
    return otp


def verify_otp(user: User | None, purpose: str, code: str, *, target: str | None = None) -> bool:
    """True once for the right code of the newest active `purpose` code; commits the outcome.

    A wrong code counts an attempt (the 5th voids the code); an expired one is
    marked expired. With `target`, the code must have been issued for it (with
    user None, the code of the address `target`).
    """
    if user is None and not target:
        return False
    now = utcnow()
    otp = db.session.scalar(
        sa.select(UserOTP)
        .where(_owned_by(user, purpose, target), UserOTP.status == "active")
        .order_by(UserOTP.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if otp is None:
        db.session.commit()
        return False
    if otp.expires_at <= now:
        otp.status = "expired"
        db.session.commit()
        return False
    code = "".join((code or "").split())
    matches = hmac.compare_digest(otp.code_hash, _digest(otp.id, code)) and (target is None or otp.target == target)
    if matches:
        otp.status = "used"
        otp.used_at = now
    else:
        otp.failed_attempts += 1
        if otp.failed_attempts >= MAX_ATTEMPTS:
            otp.status = "void"
    db.session.commit()
    return matches


def has_active_code(user: User | None, purpose: str, *, target: str | None = None) -> bool:
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(UserOTP)
        .where(_owned_by(user, purpose, target), UserOTP.status == "active", UserOTP.expires_at > utcnow())
    )
    return bool(count)


def cleanup_otps() -> int:
    """Delete used, void and expired codes (and active ones past expiry). Returns how many.

    Rows younger than the hourly window stay: the hourly cap counts them.
    """
    now = utcnow()
    result = db.session.execute(
        sa.delete(UserOTP).where(
            UserOTP.created_at < now - WINDOW,
            sa.or_(UserOTP.status != "active", UserOTP.expires_at <= now),
        )
    )
    db.session.commit()
    return cast("sa.CursorResult[Any]", result).rowcount
