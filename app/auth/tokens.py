"""API bearer tokens: sign-ins that end in tokens instead of a cookie, refresh, revoke, personal tokens.

Opaque random strings (256 bits from `secrets`), of which only the SHA-256 is stored (app/models/api_token.py),
not JWTs: every request looks its token up anyway (to see the sign-in still live, so ending it on the
sessions page takes effect at once), and a lookup by hash needs no signing key, no revocation list and
leaks nothing if the table is read. SHA-256 without salt is enough for 256 random bits (no guessing).

An API sign-in is a `UserSession` row (device = the client's name) holding one live access token
(ACCESS_TTL) and one live refresh token. Refreshing exchanges the refresh token for a new pair, once:
a rotated refresh token presented again means it was copied, and the whole sign-in ends (the family).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app import audit
from app.auth import mfa
from app.auth.sessions import is_live, lifetime, start_api_session
from app.errors import AuthenticationError, NotFound, ValidationError
from app.extensions import db
from app.models.api_token import ApiToken
from app.models.base import utcnow
from app.models.user import User, UserSession

ACCESS_TTL = timedelta(minutes=15)
MFA_TTL = timedelta(seconds=mfa.PENDING_FOR_SECONDS)
SCOPES = ("read", "billing", "admin")
PREFIX = {"access": "mpa_", "refresh": "mpr_", "mfa": "mpm_", "pat": "mpp_"}
MAX_PERSONAL_TOKENS = 20
LAST_USED_EVERY = timedelta(minutes=1)
BAD_TOKEN = "That token is invalid or has expired. Sign in again."  # noqa: S105 (a message, not a secret)
BAD_CHALLENGE = "Your sign-in has expired. Please sign in again."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...]
    session_id: uuid.UUID


@dataclass(frozen=True)
class MfaChallenge:
    challenge_token: str
    expires_in: int


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def allowed_scopes(user: User) -> tuple[str, ...]:
    """What a sign-in of `user` may do: read and billing; admin for staff (who sign in with a second factor)."""
    return SCOPES if mfa.is_staff(user) else ("read", "billing")


def _issue(
    user: User,
    kind: str,
    *,
    expires_at: datetime | None,
    session_id: uuid.UUID | None = None,
    scopes: tuple[str, ...] = (),
    name: str = "",
) -> tuple[ApiToken, str]:
    raw = PREFIX[kind] + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        session_id=session_id,
        kind=kind,
        token_hash=digest(raw),
        scopes=" ".join(scopes),
        name=name,
        expires_at=expires_at,
    )
    db.session.add(row)
    return row, raw


def _pair(user: User, record: UserSession) -> TokenPair:
    now = utcnow()
    scopes = allowed_scopes(user)
    _, access = _issue(user, "access", expires_at=now + ACCESS_TTL, session_id=record.id, scopes=scopes)
    _, refresh = _issue(
        user, "refresh", expires_at=record.created_at + lifetime(remember=True), session_id=record.id, scopes=scopes
    )
    return TokenPair(access, refresh, int(ACCESS_TTL.total_seconds()), scopes, record.id)


def start_sign_in(user: User, *, client_name: str, method: str) -> TokenPair:
    """Every factor has been checked: a new API sign-in (a session row) and its first pair of tokens."""
    record = start_api_session(user, client_name=client_name)
    pair = _pair(user, record)
    audit.record(
        "auth.login", actor_id=user.id, target=user, after={"method": method, "device": record.device, "via": "api"}
    )
    db.session.commit()
    return pair


def begin_sign_in(user: User, *, client_name: str, method: str) -> TokenPair | MfaChallenge:
    """The first factor passed: tokens now, or, for an account with a second factor, a challenge token
    to complete with `complete_mfa` within 5 minutes (the API's `mfa.begin_sign_in`)."""
    if not mfa.has_second_factor(user):
        return start_sign_in(user, client_name=client_name, method=method)
    _, raw = _issue(user, "mfa", expires_at=utcnow() + MFA_TTL, scopes=(method,), name=client_name[:80])
    audit.record("auth.second_step", actor_id=user.id, target=user, after={"method": method, "via": "api"})
    db.session.commit()
    return MfaChallenge(raw, int(MFA_TTL.total_seconds()))


def _find(raw: str, *kinds: str, lock: bool = False) -> ApiToken | None:
    if not raw or len(raw) > 200:
        return None
    query = sa.select(ApiToken).where(ApiToken.token_hash == digest(raw), ApiToken.kind.in_(kinds))
    if lock:
        query = query.with_for_update(of=ApiToken)
    return db.session.scalar(query)


def _usable(row: ApiToken | None, now: datetime) -> bool:
    return (
        row is not None
        and row.revoked_at is None
        and (row.expires_at is None or row.expires_at > now)
        and row.user.is_active
    )


def complete_mfa(challenge: str, code: str) -> TokenPair:
    """Check the second factor (authenticator or recovery code) for a challenge; AuthenticationError otherwise."""
    now = utcnow()
    row = _find(challenge, "mfa", lock=True)
    if row is None or not _usable(row, now):
        raise ValidationError({"challenge_token": BAD_CHALLENGE})
    user = row.user
    mfa.verify_second_factor(user, code, action="auth.login_failed")  # counts failures, raises on a wrong code
    row.revoked_at = now
    pair = start_sign_in(user, client_name=row.name, method=row.scopes or "password")
    audit.record("auth.second_factor", actor_id=user.id, target=user, after={"via": "api"})
    db.session.commit()
    return pair


def _session_live(session_id: uuid.UUID | None, now: datetime) -> bool:
    if session_id is None:
        return False
    return bool(db.session.scalar(sa.select(sa.exists().where(UserSession.id == session_id, is_live(now)))))


def end_family(session_id: uuid.UUID, now: datetime) -> None:
    """End an API sign-in: its session row and every token of it."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.session_id == session_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def refresh(raw: str) -> TokenPair:
    """Exchange a refresh token for a new pair (once). A rotated token presented again ends the sign-in."""
    now = utcnow()
    row = _find(raw, "refresh", lock=True)
    if row is None or row.session_id is None:
        raise AuthenticationError(BAD_TOKEN, field="refresh_token")
    if row.rotated_at is not None:
        end_family(row.session_id, now)
        audit.record(
            "auth.refresh_reused", actor_id=row.user_id, target=row.user, after={"session": str(row.session_id)}
        )
        db.session.commit()
        raise AuthenticationError(BAD_TOKEN, field="refresh_token")
    if not _usable(row, now) or not _session_live(row.session_id, now):
        raise AuthenticationError(BAD_TOKEN, field="refresh_token")
    row.rotated_at = now
    db.session.execute(  # the old access token goes with its refresh token
        sa.update(ApiToken)
        .where(ApiToken.session_id == row.session_id, ApiToken.kind == "access", ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    record = db.session.get_one(UserSession, row.session_id)  # live: checked above
    record.last_seen_at = now
    pair = _pair(row.user, record)
    db.session.commit()
    return pair


def revoke(raw: str) -> None:
    """End what a token belongs to (RFC 7009: an unknown token is no error): a sign-in ends whole, a
    personal token alone."""
    row = _find(raw, "access", "refresh", "pat")
    if row is None:
        return
    now = utcnow()
    if row.session_id is not None:
        end_family(row.session_id, now)
    row.revoked_at = row.revoked_at or now
    audit.record("auth.token_revoked", actor_id=row.user_id, target=row.user, after={"kind": row.kind})
    db.session.commit()


def authenticate(raw: str) -> ApiToken | None:
    """The live access or personal token `raw` is, or None (expired, revoked, sign-in ended, account inactive)."""
    now = utcnow()
    row = _find(raw, "access", "pat")
    if row is None or not _usable(row, now):
        return None
    if row.kind == "access" and not _session_live(row.session_id, now):
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
        row.last_used_at = now
        if row.session_id is not None:
            db.session.execute(sa.update(UserSession).where(UserSession.id == row.session_id).values(last_seen_at=now))
        db.session.commit()
    return row


# --- Personal access tokens ------------------------------------------------------------


def personal_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.kind == "pat", ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def create_personal_token(user: User, *, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """A token for scripts with the chosen scopes; the raw token is returned this once and never stored."""
    name = " ".join(name.split())[:80]
    chosen = tuple(s for s in SCOPES if s in set(scopes))
    if not name:
        raise ValidationError({"name": "Give the token a name, so you can tell it apart later."})
    if not chosen or len(chosen) != len(set(scopes)):
        raise ValidationError({"scopes": "Choose at least one of: read, billing, admin."})
    if not set(chosen) <= set(allowed_scopes(user)):
        raise ValidationError({"scopes": "Only staff accounts can make tokens with the admin scope."})
    if len(personal_tokens(user)) >= MAX_PERSONAL_TOKENS:
        raise ValidationError({"name": f"You have {MAX_PERSONAL_TOKENS} tokens already: revoke one first."})
    row, raw = _issue(user, "pat", expires_at=None, scopes=chosen, name=name)
    db.session.flush()
    audit.record("auth.personal_token_created", actor_id=user.id, target=row, after={"name": name, "scopes": chosen})
    db.session.commit()
    return row, raw


def revoke_personal_token(user: User, token_id: uuid.UUID) -> ApiToken:
    row = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.id == token_id,
            ApiToken.user_id == user.id,
            ApiToken.kind == "pat",
            ApiToken.revoked_at.is_(None),
        )
    )
    if row is None:
        raise NotFound("That token isn't one of your active tokens.")
    row.revoked_at = utcnow()
    audit.record("auth.personal_token_revoked", actor_id=user.id, target=row, after={"name": row.name})
    db.session.commit()
    return row
