"""Second factors (ASVS V6.3.2): the authenticator app, recovery codes and the second sign-in step.

`has_second_factor(user)` is the one answer to "does this account sign in with two factors".
`begin_sign_in` is where every first factor (password, emailed code, social) ends: without a
second factor it calls `services.login`; with one it leaves the browser half signed in — the
Flask session holds who, how and since when, nothing that signs anyone in — until
`complete_sign_in` accepts an authenticator or recovery code within 5 minutes. Failed codes
count towards the same per-account lock as failed passwords (app/auth/throttle.py).

A TOTP time step is accepted once per account: the step is stored, and a code of that step or
an earlier one is refused (V6.5.x), under a row lock so two requests can't both use one code.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, session

from app import audit, rbac
from app.auth import mfa_keys, throttle, totp
from app.errors import AuthenticationError, Conflict, ValidationError
from app.extensions import db
from app.links import path_for
from app.models.base import utcnow
from app.models.mfa import RecoveryCode, TotpFactor
from app.models.passkey import WebAuthnCredential
from app.models.user import User
from app.notifications.services import notify

PENDING = "mfa_pending"
PENDING_FOR_SECONDS = 5 * 60
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
RECOVERY_LENGTH = 10
FEW_LEFT = 3
BAD_CODE = "That code isn’t right. Enter the 6-digit code your app shows now, or one of your recovery codes."
BAD_ENROLL_CODE = "That code doesn’t match. Check the time on your phone and enter the code your app shows now."


# --- Who has what ------------------------------------------------------------------------


def has_totp(user: User) -> bool:
    return db.session.get(TotpFactor, user.id) is not None


def has_second_factor(user: User) -> bool:
    """Whether the account signs in with a second factor: an authenticator app or a passkey."""
    return has_totp(user) or has_passkey(user)


def has_passkey(user: User) -> bool:
    return bool(db.session.scalar(sa.select(sa.exists().where(WebAuthnCredential.user_id == user.id))))


def is_staff(user: User) -> bool:
    """A role holding any permission is staff (every permission is an admin one): it must use a second factor."""
    return bool(rbac.permissions_of_role(user.role_id))


def recovery_codes_left(user: User) -> int:
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


# --- The second sign-in step -------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    user: User
    remember: bool
    method: str
    next_url: str | None


def begin_sign_in(user: User, *, remember: bool = False, method: str = "password", next_url: str | None = None) -> bool:
    """The first factor passed: sign in now (True), or, for an account with a second factor, ask for it (False)."""
    from app.auth import services  # services calls begin_sign_in; login stays services' (the one way in)

    if not has_second_factor(user):
        services.login(user, remember=remember, method=method)
        return True
    session.pop(PENDING, None)
    session[PENDING] = {
        "user": str(user.id),
        "remember": bool(remember),
        "method": method,
        "started": int(time.time()),
        "next": next_url,
    }
    audit.record("auth.second_step", actor_id=user.id, target=user, after={"method": method})
    db.session.commit()
    return False


def pending() -> Pending | None:
    """The half-signed-in state of this browser, while it lasts (5 minutes); an expired one is dropped."""
    state = session.get(PENDING)
    if not isinstance(state, dict):
        return None
    started = state.get("started")
    if not isinstance(started, int) or not 0 <= time.time() - started <= PENDING_FOR_SECONDS:
        session.pop(PENDING, None)
        return None
    try:
        user = db.session.get(User, uuid.UUID(str(state.get("user"))))
    except ValueError:
        user = None
    if user is None or not user.is_active:
        session.pop(PENDING, None)
        return None
    return Pending(user, bool(state.get("remember")), str(state.get("method") or "password"), state.get("next"))


def cancel_sign_in() -> None:
    session.pop(PENDING, None)


def complete_sign_in(code: str) -> Pending:
    """Check the second factor of the pending sign-in and start the full session (AuthenticationError on `code`)."""
    from app.auth import services

    waiting = pending()
    if waiting is None:
        raise ValidationError({"code": "Your sign-in has expired. Please sign in again."})
    factor = verify_second_factor(waiting.user, code, action="auth.login_failed")
    session.pop(PENDING, None)
    services.login(waiting.user, remember=waiting.remember, method=waiting.method)
    # login() audited the first factor; this row says which second factor completed it.
    audit.record("auth.second_factor", actor_id=waiting.user.id, target=waiting.user, after={"factor": factor})
    db.session.commit()
    return waiting


def complete_sign_in_with_passkey(answer: str) -> Pending:
    """The pending sign-in's second step done with a passkey of the same account (AuthenticationError otherwise)."""
    from app.auth import passkeys, services

    waiting = pending()
    if waiting is None:
        raise ValidationError({"code": "Your sign-in has expired. Please sign in again."})
    user = passkeys.authenticate(answer)
    if user.id != waiting.user.id:
        audit.record("auth.login_failed", target=waiting.user, after={"reason": "passkey_of_another_account"})
        db.session.commit()
        raise AuthenticationError("That passkey belongs to another account. Use a passkey of this one, or a code.")
    session.pop(PENDING, None)
    services.login(waiting.user, remember=waiting.remember, method=waiting.method)
    audit.record("auth.second_factor", actor_id=user.id, target=user, after={"factor": "passkey"})
    db.session.commit()
    return waiting


def verify_second_factor(user: User, code: str, *, action: str) -> str:
    """Accept an authenticator code or an unused recovery code; returns which ("totp" or "recovery_code").

    Failures are audited as `action` and count towards the per-account sign-in lock (RateLimited once used up).
    """
    key = str(user.id)
    throttle.check("login_failed", key)
    typed = "".join(code.split()).replace("-", "").lower()
    factor = None
    if typed.isdigit() and _accept_totp(user, typed):
        factor = "totp"
    elif len(typed) == RECOVERY_LENGTH and _use_recovery_code(user, typed):
        factor = "recovery_code"
    if factor is None:
        db.session.rollback()  # the row lock taken to check the step
        audit.record(action, target=user, after={"identifier": user.username, "reason": "second_factor"})
        db.session.commit()
        throttle.hit("login_failed", key)
        raise AuthenticationError(BAD_CODE, field="code")
    throttle.clear("login_failed", key)
    return factor


def _accept_totp(user: User, code: str) -> bool:
    factor = db.session.scalar(sa.select(TotpFactor).where(TotpFactor.user_id == user.id).with_for_update())
    if factor is None:
        return False
    step = totp.matching_step(mfa_keys.decrypt(factor.secret_encrypted), code)
    if step is None or (factor.last_used_step is not None and step <= factor.last_used_step):
        return False
    factor.last_used_step = step
    return True


def _use_recovery_code(user: User, code: str) -> bool:
    used = db.session.scalar(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash.in_(mfa_keys.code_hashes(code)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .returning(RecoveryCode.id)
    )
    if used is None:
        return False
    left = recovery_codes_left(user)
    when = utcnow().strftime("%d %b %Y, %H:%M UTC")
    advice = (
        f" Only {left} {'code is' if left == 1 else 'codes are'} left: make new ones from your security page."
        if left < FEW_LEFT
        else f" {left} codes are left."
    )
    _tell(user, "A recovery code was used on your account", f"One of your recovery codes was used on {when}.{advice}")
    return True


# --- Turning factors on and off ----------------------------------------------------------


def pending_secret_token(secret: str) -> str:
    """The enrollment's secret, encrypted, to keep in the browser's session until the code confirms it."""
    return mfa_keys.encrypt(secret)


def pending_secret(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return mfa_keys.decrypt(token)
    except mfa_keys.SecretUnreadable:
        return None


def enable_totp(user: User, secret: str, code: str) -> list[str] | None:
    """Turn the authenticator app on once `code` is current for `secret`.

    Returns the new recovery codes (to show once) when this is the account's first second factor.
    """
    if has_totp(user):
        raise Conflict("Your authenticator app is already on. Turn it off first to set up another one.")
    step = totp.matching_step(secret, code)
    if step is None:
        raise ValidationError({"code": BAD_ENROLL_CODE})
    first = not has_second_factor(user)
    db.session.add(TotpFactor(user_id=user.id, secret_encrypted=mfa_keys.encrypt(secret), last_used_step=step))
    codes = _new_recovery_codes(user) if first else None
    audit.record("mfa.totp_enabled", actor_id=user.id, target=user)
    _tell(
        user,
        "Your authenticator app is on",
        "Signing in to your account now asks for a code from your authenticator app after your password.",
    )
    db.session.commit()
    return codes


def disable_totp(user: User) -> None:
    """Turn the authenticator app off (and its recovery codes with it when it was the only second factor)."""
    factor = db.session.get(TotpFactor, user.id)
    if factor is None:
        raise Conflict("Your authenticator app is already off.")
    if is_staff(user) and not has_passkey(user):
        raise Conflict("Staff accounts need a second factor: add a passkey before turning this off.")
    db.session.delete(factor)
    db.session.flush()
    if not has_second_factor(user):
        db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record("mfa.totp_disabled", actor_id=user.id, target=user)
    _tell(
        user,
        "Your authenticator app was turned off",
        "Signing in to your account no longer asks for a code from your authenticator app.",
    )
    db.session.commit()


def regenerate_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes (the old ones stop working). Only for an account with a second factor."""
    if not has_second_factor(user):
        raise Conflict("Turn on your authenticator app first: recovery codes stand in for it.")
    codes = _new_recovery_codes(user)
    audit.record("mfa.recovery_codes_regenerated", actor_id=user.id, target=user)
    db.session.commit()
    return codes


def first_recovery_codes(user: User) -> list[str] | None:
    """Ten recovery codes for an account that has a second factor and no codes left (a first passkey just
    added): shown once by the caller. None when it still has codes."""
    if not has_second_factor(user) or recovery_codes_left(user):
        return None
    codes = _new_recovery_codes(user)
    audit.record("mfa.recovery_codes_regenerated", actor_id=user.id, target=user)
    db.session.commit()
    return codes


def reset_by_staff(user: User, *, actor_id: uuid.UUID) -> None:
    """An admin removes every second factor of `user` (who is emailed); nobody sees the secret."""
    if actor_id == user.id:
        raise Conflict("You can't reset your own second factor here: use your security page.")
    removed = db.session.execute(sa.delete(TotpFactor).where(TotpFactor.user_id == user.id))
    keys = db.session.execute(sa.delete(WebAuthnCredential).where(WebAuthnCredential.user_id == user.id))
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if not getattr(removed, "rowcount", 0) and not getattr(keys, "rowcount", 0):
        db.session.rollback()
        raise Conflict(f"{user.display_name} has no second factor to reset.")
    audit.record("mfa.reset_by_staff", actor_id=actor_id, target=user)
    _tell(
        user,
        "Your second factor was reset by our staff",
        "Our staff removed the authenticator app, passkeys and recovery codes from your account, as you asked. "
        "Set up a second factor again from your security page.",
    )
    db.session.commit()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH)) for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=mfa_keys.code_hashes(code)[0]) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _tell(user: User, title: str, body: str) -> None:
    """In-app and by email, after the caller's commit."""
    notify(user.id, "security_notice", title, body, link=path_for("account.security"), email=True)


def issuer() -> str:
    return str(current_app.config["SITE_NAME"])
