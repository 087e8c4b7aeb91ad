"""Passkeys (WebAuthn, ASVS V6.5/V6.8): register, rename, remove, and sign in with a passkey alone.

A passkey is phishing-resistant by construction: the browser signs the challenge together with the
origin it is on, and the authenticator only answers for our relying-party id. A passkey sign-in
counts as two factors (possession of the authenticator, and the user verification — PIN or
biometric — it performs, which we require).

Ceremonies: an options call makes a random challenge and keeps it in this browser's session (with
its purpose and time); the verify call takes it out again, so each challenge is used at most once,
and it lasts 5 minutes. A challenge that was used is also burned in Redis for those 5 minutes, so an
old session cookie replayed with the same answer is refused too. Credentials are discoverable
(resident keys): the login page asks for "any passkey of this site" and the authenticator says whose.

`WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGIN` set the relying party; unset, they follow the origin links use
(`BASE_URL`, else the served host: app/links.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import redis
import sqlalchemy as sa
from flask import current_app, session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json, parse_registration_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app import audit
from app.auth.services import login
from app.dates import iso_instant
from app.errors import FORM, AuthenticationError, NotFound, ValidationError
from app.extensions import db
from app.links import base_url, external_url
from app.mail.services import queue_email
from app.models.base import utcnow
from app.models.passkey import WebAuthnCredential
from app.models.user import User
from app.redis_client import get_redis

log = logging.getLogger(__name__)

CHALLENGE = "passkey_challenge"
CHALLENGE_SECONDS = 300
TIMEOUT_MS = CHALLENGE_SECONDS * 1000
NAME_MAX = 60
MAX_RESPONSE_CHARS = 20_000  # a real answer is a few KB; anything larger is not one

NOT_VERIFIED = "We couldn’t verify that passkey. Try again."
EXPIRED = "That passkey request expired or was already used. Try again."
UNKNOWN = "That passkey isn’t registered here. Sign in another way, then add it to your account."
CLONED = "That passkey answered out of order, so we refused it. Sign in another way and check your passkeys."
NOT_YOURS = "That passkey isn’t one of yours."


def rp_id() -> str:
    configured: str | None = current_app.config.get("WEBAUTHN_RP_ID")
    return configured or (urlsplit(expected_origin()).hostname or "localhost")


def expected_origin() -> str:
    configured: str | None = current_app.config.get("WEBAUTHN_ORIGIN")
    return (configured or base_url()).rstrip("/")


def count_for(user: User) -> int:
    """How many passkeys the account has (a second factor when more than none)."""
    return int(db.session.scalar(sa.select(sa.func.count()).where(WebAuthnCredential.user_id == user.id)) or 0)


def list_for(user: User) -> list[WebAuthnCredential]:
    return list(
        db.session.scalars(
            sa.select(WebAuthnCredential)
            .where(WebAuthnCredential.user_id == user.id)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
        )
    )


def _keep_challenge(challenge: bytes, purpose: str, user: User | None = None) -> None:
    session[CHALLENGE] = {
        "purpose": purpose,
        "challenge": challenge.hex(),
        "at": int(time.time()),
        "user": str(user.id) if user else None,
    }


def _take_challenge(purpose: str, user: User | None = None) -> bytes:
    """The challenge this browser was given for `purpose`, removed from its session; EXPIRED if none fits."""
    kept = session.pop(CHALLENGE, None)
    if not isinstance(kept, dict) or kept.get("purpose") != purpose:
        raise ValidationError({FORM: EXPIRED})
    at, text = kept.get("at"), kept.get("challenge")
    if not isinstance(at, int) or not isinstance(text, str) or not 0 <= time.time() - at <= CHALLENGE_SECONDS:
        raise ValidationError({FORM: EXPIRED})
    if user is not None and kept.get("user") != str(user.id):
        raise ValidationError({FORM: EXPIRED})
    challenge = bytes.fromhex(text)
    _burn(challenge)
    return challenge


def _burn(challenge: bytes) -> None:
    """Refuse a challenge seen before (an old session cookie sent again). Redis down: the session pop still holds."""
    key = "webauthn:used:" + hashlib.sha256(challenge).hexdigest()
    try:
        fresh = get_redis().set(key, 1, nx=True, ex=CHALLENGE_SECONDS)
    except redis.RedisError as exc:
        log.warning("passkey challenge not burned, Redis unavailable: %s", exc)
        return
    if not fresh:
        raise ValidationError({FORM: EXPIRED})


def _response(text: str) -> dict[str, Any]:
    """The browser's answer as a JSON object, or a ValidationError (never a 500 for a bad body)."""
    if not text or len(text) > MAX_RESPONSE_CHARS:
        raise ValidationError({FORM: NOT_VERIFIED})
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationError({FORM: NOT_VERIFIED}) from None
    if not isinstance(value, dict):
        raise ValidationError({FORM: NOT_VERIFIED})
    return value


def _transports(raw: object) -> list[str]:
    known = {t.value for t in AuthenticatorTransport}
    return [t for t in raw if isinstance(t, str) and t in known][:8] if isinstance(raw, list) else []


# --- registration ---------------------------------------------------------------------------


def registration_options(user: User) -> str:
    """The options (JSON) for the browser's navigator.credentials.create(); the challenge stays in the session."""
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=current_app.config["SITE_NAME"],
        user_id=user.id.bytes,
        user_name=user.email,
        user_display_name=user.display_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c.credential_id) for c in list_for(user)],
    )
    _keep_challenge(options.challenge, "register", user)
    return options_to_json(options)


def add(user: User, response_text: str, name: str) -> WebAuthnCredential:
    """Verify the browser's answer to `registration_options` and keep the new passkey; audited, emailed."""
    challenge = _take_challenge("register", user)
    answer = _response(response_text)
    try:
        verified = verify_registration_response(
            credential=parse_registration_credential_json(answer),
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("passkey registration refused: %s", exc)
        audit.record("passkey.add_failed", actor_id=user.id, target=user, after={"reason": str(exc)[:200]})
        db.session.commit()
        raise ValidationError({FORM: NOT_VERIFIED}) from None
    taken = db.session.scalar(
        sa.select(WebAuthnCredential.id).where(WebAuthnCredential.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise ValidationError({FORM: "That passkey is already registered."})
    response = answer.get("response")
    credential = WebAuthnCredential(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=_transports(response.get("transports") if isinstance(response, dict) else None),
        name=name.strip()[:NAME_MAX] or "Passkey",
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        created_at=utcnow(),
    )
    db.session.add(credential)
    db.session.flush()
    audit.record("passkey.added", actor_id=user.id, target=credential, after={"name": credential.name})
    _tell(user, "passkey_added", credential.name)
    db.session.commit()
    return credential


# --- management ------------------------------------------------------------------------------


def own(user: User, passkey_id: int) -> WebAuthnCredential:
    credential = db.session.scalar(
        sa.select(WebAuthnCredential).where(WebAuthnCredential.id == passkey_id, WebAuthnCredential.user_id == user.id)
    )
    if credential is None:
        raise NotFound(NOT_YOURS)
    return credential


def rename(user: User, passkey_id: int, name: str) -> WebAuthnCredential:
    credential = own(user, passkey_id)
    name = name.strip()[:NAME_MAX]
    if not name:
        raise ValidationError({"name": "Give the passkey a name."})
    if name != credential.name:
        audit.record(
            "passkey.renamed",
            actor_id=user.id,
            target=credential,
            before={"name": credential.name},
            after={"name": name},
        )
        credential.name = name
    db.session.commit()
    return credential


def remove(user: User, passkey_id: int) -> str:
    """Delete one of the user's passkeys (audited, emailed); returns its name."""
    credential = own(user, passkey_id)
    name = credential.name
    audit.record("passkey.removed", actor_id=user.id, target=credential, before={"name": name})
    db.session.delete(credential)
    _tell(user, "passkey_removed", name)
    db.session.commit()
    return name


def _tell(user: User, kind: str, name: str) -> None:
    queue_email(
        user.email,
        kind,
        {
            "name": user.display_name,
            "passkey_name": name,
            "when": iso_instant(utcnow()),
            "security_url": external_url("account.passkeys"),
        },
        user_id=user.id,
    )


# --- sign-in ---------------------------------------------------------------------------------


def authentication_options() -> str:
    """Options (JSON) for navigator.credentials.get() with any passkey of this site (no username)."""
    options = generate_authentication_options(
        rp_id=rp_id(), timeout=TIMEOUT_MS, user_verification=UserVerificationRequirement.REQUIRED
    )
    _keep_challenge(options.challenge, "login")
    return options_to_json(options)


def authenticate(response_text: str) -> User:
    """The active account whose passkey signed this browser's challenge, or AuthenticationError.

    The row's sign count must grow (unless the authenticator keeps none: both zero); an answer that
    does not is a cloned or replayed authenticator, refused and audited.
    """
    challenge = _take_challenge("login")
    answer = _response(response_text)
    try:
        parsed = parse_authentication_credential_json(answer)
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
        raise ValidationError({FORM: NOT_VERIFIED}) from None
    credential = db.session.scalar(
        sa.select(WebAuthnCredential).where(WebAuthnCredential.credential_id == parsed.raw_id).with_for_update()
    )
    user = db.session.get(User, credential.user_id) if credential is not None else None
    handle = parsed.response.user_handle
    if credential is None or user is None or (handle is not None and handle != user.id.bytes):
        _failed(None, "unknown_passkey")
        raise AuthenticationError(UNKNOWN)
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            credential_public_key=credential.public_key,
            credential_current_sign_count=0,  # compared below, once the signature is known to be good
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("passkey sign-in refused: %s", exc)
        _failed(user, "passkey", detail=str(exc)[:200])
        raise AuthenticationError(NOT_VERIFIED) from None
    if (verified.new_sign_count or credential.sign_count) and verified.new_sign_count <= credential.sign_count:
        audit.record(
            "passkey.sign_count_regressed",
            actor_id=user.id,
            target=credential,
            before={"sign_count": credential.sign_count},
            after={"sign_count": verified.new_sign_count},
        )
        _failed(user, "passkey_sign_count")
        raise AuthenticationError(CLONED)
    if not user.is_active:
        _failed(user, "inactive")
        raise AuthenticationError(UNKNOWN)
    credential.sign_count = verified.new_sign_count
    credential.backed_up = verified.credential_backed_up
    credential.last_used_at = utcnow()
    return user


def sign_in(response_text: str, *, remember: bool = False) -> User:
    """`authenticate`, then a full session: the passkey is both factors."""
    user = authenticate(response_text)
    login(user, remember=remember, method="passkey")
    return user


def _failed(user: User | None, reason: str, detail: str | None = None) -> None:
    after = {"reason": reason} | ({"detail": detail} if detail else {})
    audit.record("auth.login_failed", target=user, target_type="users", after=after)
    db.session.commit()
