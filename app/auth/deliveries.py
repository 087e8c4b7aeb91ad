"""What the identity jobs send, decided in the worker: codes, reset links, the signup notice.

The request that asked did the same work whether or not an account exists (it
issued a code row for the account or for the bare address, or queued the typed
address), so its answer and its timing say nothing. Here, off the request path,
the job looks at what it finds and sends the code, the link or the notice — or
nothing. Codes and reset tokens are made here: they never travel in a job's
arguments, so they never reach Redis or a worker's log.
"""

from __future__ import annotations

import logging
import uuid

from flask import current_app

from app.auth.otp import CODE_TTL, code_for, ttl_for
from app.auth.reset import TOKEN_MAX_AGE, make_reset_token
from app.auth.services import user_by_email
from app.auth.sms import get_adapter
from app.extensions import db
from app.links import external_url
from app.mail.services import deliver
from app.models.base import utcnow
from app.models.otp import UserOTP
from app.models.user import User

log = logging.getLogger(__name__)

CODE_MINUTES = int(CODE_TTL.total_seconds() // 60)
_CODE_EMAILS = {
    "verify_email": "verification_code",
    "link_email": "verification_code",
    "login": "login_code",
    "reauth": "reauth_code",
    "change_email": "email_change_code",
}


def send_code(otp_id: uuid.UUID, *, key: str, name: str | None = None) -> bool:
    """Send the code of `otp_id` where it belongs; True when a message went out.

    An account's code goes to the account; an address code of social sign-in
    goes to the address (greeting `name`). A signup for an address that already
    has an account gets the "someone tried to sign up" notice instead of a code;
    any other code for an address without an account is not sent at all.
    """
    otp = db.session.get(UserOTP, otp_id)
    if otp is None or otp.status != "active" or otp.expires_at <= utcnow():
        log.info("code %s is no longer active; nothing sent", otp_id)
        return False
    if otp.purpose == "verify_phone":
        return _text_code(otp)
    user = db.session.get(User, otp.user_id) if otp.user_id is not None else None
    if user is not None and otp.purpose == "change_email":
        return _email_change_code(otp, user, key)
    if user is not None:
        return _email_code(otp, user.email, user.display_name, key)
    if otp.purpose == "link_email" and otp.target:
        return _email_code(otp, otp.target, name or "there", key)
    holder = user_by_email(otp.target) if otp.target else None
    if otp.purpose == "verify_email" and holder is not None:
        return deliver(
            {
                "to": holder.email,
                "template": "signup_attempt",
                "context": {
                    "name": holder.display_name,
                    "login_url": external_url("auth.login"),
                    "reset_url": external_url("auth.password_reset_request"),
                },
            },
            key,
        )
    return False  # no account behind the address: there is nobody to tell


def send_password_reset(address: str, *, key: str) -> bool:
    """Email a reset link (the token signed now) if `address` has an active account."""
    user = user_by_email(address)
    if user is None or not user.is_active:
        return False
    return deliver(
        {
            "to": user.email,
            "template": "password_reset",
            "context": {
                "name": user.display_name,
                "reset_url": external_url("auth.password_reset", token=make_reset_token(user)),
                "expires_minutes": TOKEN_MAX_AGE // 60,
            },
        },
        key,
    )


def _email_change_code(otp: UserOTP, user: User, key: str) -> bool:
    """The code that proves the new address of an email change goes there, unless an account has it:
    the page answered "we sent a code" either way, and the owner of that address needn't hear of it."""
    if not otp.target or user_by_email(otp.target) is not None:
        log.info("code %s is for an address that has an account; nothing sent", otp.id)
        return False
    return _email_code(otp, otp.target, user.display_name, key)


def _email_code(otp: UserOTP, to: str, name: str, key: str) -> bool:
    minutes = int(ttl_for(otp.purpose).total_seconds() // 60)
    return deliver(
        {
            "to": to,
            "template": _CODE_EMAILS[otp.purpose],
            "context": {"name": name[:60], "code": code_for(otp), "expires_minutes": minutes},
        },
        key,
    )


def _text_code(otp: UserOTP) -> bool:
    site = current_app.config["SITE_NAME"]
    if not otp.target:  # a phone code always has its number; nothing to send to otherwise
        return False
    get_adapter().send(
        otp.target, f"{site}: your verification code is {code_for(otp)}. It expires in {CODE_MINUTES} minutes."
    )
    return True
