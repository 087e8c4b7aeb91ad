"""Change the account's email address (ASVS V6.x): the new address proves itself, the old one is told.

The person (after step-up) names the new address; a 6-digit code (purpose "change_email", single
use, 1 hour) is issued for it whether or not another account has it, and the job sends it only
when none has (app/auth/deliveries.py), so the answer says nothing about who is registered.
Until the code comes back the old address stays. On confirmation the address changes, it is
audited, and the old address gets a notice with a password-reset link and the sessions page.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import IntegrityError

from app import audit, outbox
from app.auth.emails import InvalidEmail, normalize_email
from app.auth.otp import queue_code, verify_otp
from app.auth.reset import make_reset_token
from app.auth.services import user_by_email
from app.dates import iso_instant
from app.errors import AuthenticationError, RateLimited, ValidationError
from app.extensions import db
from app.links import external_url
from app.mail.services import deliver
from app.models.base import utcnow
from app.models.user import User

log = logging.getLogger(__name__)

PURPOSE = "change_email"
BAD_CODE = "That code is wrong or has expired. Check the email at the new address, or ask for a new code."
NEEDS_PASSWORD = "Set a password first: you'll need it to sign in with the new address."  # noqa: S105 (a message)


def request_change(user: User, raw_address: str | None) -> str:
    """Issue (and queue) the code for the new address; returns the address, normalized.

    ValidationError on `email` for a bad or unchanged address, or an account without a password;
    RateLimited on `email` inside the code cooldown. A taken address is answered as a free one.
    """
    try:
        address = normalize_email(raw_address or "")
    except InvalidEmail as exc:
        raise ValidationError({"email": str(exc)}) from None
    if user.password_hash is None:
        raise ValidationError({"email": NEEDS_PASSWORD})
    if address == user.email:
        raise ValidationError({"email": "That is already your address. Enter the new one."})
    try:
        queue_code(user, PURPOSE, target=address)
    except RateLimited as exc:
        raise RateLimited(exc.message, retry_after=exc.retry_after, field="email") from exc
    audit.record("user.email_change_requested", actor_id=user.id, target=user)
    db.session.commit()
    return address


def confirm_change(user: User, address: str, code: str) -> None:
    """Make `address` the account's email when `code` is the one sent there; AuthenticationError (code) if not."""
    if not verify_otp(user, PURPOSE, code, target=address):
        audit.record("user.email_change_failed", actor_id=user.id, target=user)
        db.session.commit()
        raise AuthenticationError(BAD_CODE, field="code")
    locked = db.session.get(User, user.id, with_for_update=True, populate_existing=True)
    if locked is None or user_by_email(address) is not None:  # taken since the code went out
        raise ValidationError({"code": "That address is used by another account now. Choose another address."})
    old = locked.email
    locked.email, locked.email_verified_at = address, utcnow()
    audit.record("user.email_changed", actor_id=user.id, target=locked, before={"email": old}, after={"email": address})
    outbox.enqueue("jobs.account.send_email_changed", str(locked.id), old, queue="high")
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError(
            {"code": "That address is used by another account now. Choose another address."}
        ) from None


def send_changed_notice(user_id: uuid.UUID, old_address: str, *, key: str) -> bool:
    """In the worker: tell the old address, with a fresh password-reset link (signed here, never queued)."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.email == old_address:
        log.info("email change of %s is no longer current; no notice", user_id)
        return False
    return deliver(
        {
            "to": old_address,
            "user_id": str(user.id),
            "template": "email_changed",
            "context": {
                "name": user.display_name,
                "when": iso_instant(utcnow()),
                "new_email": user.email,
                "reset_url": external_url("auth.password_reset", token=make_reset_token(user)),
                "sessions_url": external_url("account.sessions"),
            },
        },
        key,
    )
