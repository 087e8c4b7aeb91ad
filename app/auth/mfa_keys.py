"""Keys for second factors: Fernet encryption of authenticator secrets, keyed hashes of recovery codes.

`MFA_ENCRYPTION_KEY` holds Fernet keys, comma-separated, newest first: the first encrypts, all decrypt
(MultiFernet), so a key is rotated by putting a new one in front. Production refuses to start
without it (config.py). Elsewhere, when unset, a fixed development key derived from a constant
is used — never SECRET_KEY, so signing and encryption never share a key by accident.

Recovery codes are stored as HMAC-SHA256 under a key derived from each Fernet key (the codes
are 50 random bits, so a fast keyed hash is enough and a lookup is one indexed query).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

log = logging.getLogger(__name__)

DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"multiproduct development mfa key").digest()).decode()


class SecretUnreadable(Exception):
    """A stored secret no configured key decrypts (the key was rotated out)."""


def _keys() -> list[str]:
    configured = [key.strip() for key in (current_app.config.get("MFA_ENCRYPTION_KEY") or "").split(",") if key.strip()]
    if configured:
        return configured
    if not current_app.extensions.get("mfa_dev_key_noted"):
        current_app.extensions["mfa_dev_key_noted"] = True
        log.warning("MFA_ENCRYPTION_KEY is unset: authenticator secrets use the fixed development key")
    return [DEV_KEY]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in _keys()])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("no configured MFA_ENCRYPTION_KEY decrypts this secret") from exc


def code_hashes(code: str) -> list[str]:
    """The recovery code's HMAC under every configured key (the first is the one stored now)."""
    return [
        hmac.new(hashlib.sha256(b"recovery-code:" + key.encode()).digest(), code.encode(), hashlib.sha256).hexdigest()
        for key in _keys()
    ]
