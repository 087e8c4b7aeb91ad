"""Social sign-in: run the provider round trip, then find, link or create the account.

Resolution order: the provider account (provider + subject) we already know; else
a *verified* provider email links to the account with that email; else a new
account. A provider that gives no usable email sends the person to a page that asks
for one (the pending profile waits in the session).
"""
from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import redis
import requests
import sqlalchemy as sa
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from email_validator import EmailNotValidError, validate_email
from flask import request, session, url_for
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth.sessions import end_other_sessions, start_session
from app.errors import AppError, ValidationError
from app.extensions import db
from app.models.base import utcnow
from app.models.social import SocialAccount
from app.models.user import User
from app.oauth.providers import PROVIDERS, Provider, SocialProfile, client_for, get_provider
from app.rbac import DEFAULT_ROLE, role_named

log = logging.getLogger(__name__)

NEXT_KEY = "oauth_next"
PENDING_KEY = "oauth_pending"
USERNAME_MIN, USERNAME_MAX, USERNAME_STEM = 3, 30, 24  # the stem leaves room for a numeric suffix
EMAIL_TAKEN = "An account already uses this address. Sign in to it another way, or use a different address."


class SignInProblem(AppError):
    """The round trip with the provider did not end in a usable identity."""

    def __init__(self, message: str, *, status: int = 400, provider: Provider | None = None):
        super().__init__(message)
        self.status = status
        self.provider = provider


@dataclass
class SignInResult:
    user: User | None  # None: we still need an email (see pending_profile)
    next_url: str


def safe_next(value: str | None) -> str | None:
    """`value` if it is a path on this site; never another host (no open redirect)."""
    if not value or len(value) > 2000 or any(ord(c) < 32 or c == "\\" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return None
    return value


def authorization_url(provider_name: str, next_url: str | None) -> str:
    """Start the round trip: remember where to go afterwards, return the provider's URL."""
    provider = get_provider(provider_name)
    client = client_for(provider)
    redirect_uri = url_for("oauth.callback", provider=provider.name, _external=True)
    try:
        # Authlib adds state, and for OpenID Connect a nonce; PKCE comes from code_challenge_method.
        data = client.create_authorization_url(redirect_uri)
        client.save_authorize_data(redirect_uri=redirect_uri, **data)
    except (requests.RequestException, redis.RedisError, ValueError) as exc:
        log.warning("oauth start failed for %s: %s", provider.name, exc)
        raise SignInProblem(f"We couldn't reach {provider.label} just now. Please try again in a moment.",
                            status=502, provider=provider) from exc
    session[NEXT_KEY] = safe_next(next_url)
    return data["url"]


def complete_sign_in(provider_name: str) -> SignInResult:
    """Finish the round trip (state, code exchange, ID token) and sign the person in."""
    provider = get_provider(provider_name)
    next_url = session.pop(NEXT_KEY, None) or url_for("main.home")
    profile = _fetch_profile(provider)
    user = _resolve(profile, next_url)
    if user is None:
        return SignInResult(None, next_url)
    _sign_in(user, provider)
    return SignInResult(user, next_url)


def _fetch_profile(provider: Provider) -> SocialProfile:
    error = request.args.get("error")
    if error:
        _failed(provider, error)
        if error == "access_denied":
            raise SignInProblem(f"You cancelled signing in with {provider.label}, so nothing changed. "
                                "You can try again or use another way to sign in.", status=403, provider=provider)
        raise SignInProblem(f"{provider.label} couldn't complete the sign-in. Please try again.",
                            status=502, provider=provider)
    client = client_for(provider)
    try:
        # Only the browser that started this sign-in may use its state (a stranger's request
        # must not even use it up).
        if client.framework.get_state_data(session, request.args.get("state", "")) is None:
            raise MismatchingStateError()
        token = client.authorize_access_token()
        return provider.profile(client, token)
    except MismatchingStateError as exc:
        _failed(provider, "bad_state")
        raise SignInProblem("This sign-in link has expired or was started in another browser. "
                            "Please start again.", status=400, provider=provider) from exc
    except (OAuthError, JoseError, requests.RequestException, redis.RedisError, KeyError, ValueError) as exc:
        # Token exchange refused, ID token invalid, provider unreachable or a malformed answer.
        log.warning("oauth callback failed for %s: %r", provider.name, exc)
        _failed(provider, type(exc).__name__)
        raise SignInProblem(f"We couldn't confirm your {provider.label} sign-in. Please try again.",
                            status=502, provider=provider) from exc


def _failed(provider: Provider, reason: str, user: User | None = None) -> None:
    audit.record("login_failed", actor_id=user.id if user else None, target=user,
                 after={"method": provider.name, "reason": reason[:60]})
    db.session.commit()


def _resolve(profile: SocialProfile, next_url: str) -> User | None:
    """The user for `profile`: known, linked by verified email, or new. None when an email is needed."""
    for attempt in itertools.count():
        try:
            return _resolve_once(profile, next_url)
        except IntegrityError:
            # A concurrent callback (double click) created the same row first: look again.
            db.session.rollback()
            if attempt >= 2:
                raise


def _resolve_once(profile: SocialProfile, next_url: str) -> User | None:
    known = db.session.scalar(sa.select(SocialAccount).where(
        SocialAccount.provider == profile.provider, SocialAccount.subject == profile.subject))
    if known is not None:
        if profile.email and known.email != profile.email:
            known.email = profile.email
        return known.user
    if not profile.email:
        _keep_pending(profile, next_url, reason="missing")
        return None
    owner = db.session.scalar(sa.select(User).where(User.email == profile.email))
    if owner is not None and profile.email_verified:
        return _link(owner, profile)
    if owner is not None:
        # An unverified provider email proves nothing: never attach it to someone's account.
        _keep_pending(profile, next_url, reason="taken")
        return None
    return create_account(profile, profile.email, verified=profile.email_verified)


def _link(user: User, profile: SocialProfile) -> User:
    db.session.add(SocialAccount(user=user, provider=profile.provider, subject=profile.subject, email=profile.email))
    was_unverified = not user.is_verified
    cleared = False
    if was_unverified:
        # Whoever set this account up never proved the address; the provider just did. Their
        # password and sessions go, so an account "pre-registered" with someone's email can't be kept.
        user.email_verified_at = utcnow()
        cleared = user.password_hash is not None
        user.password_hash = None
        end_other_sessions(user)
    audit.record("social_link", actor_id=user.id, target=user,
                 after={"provider": profile.provider, "email_verified_now": was_unverified, "password_cleared": cleared})
    db.session.flush()
    return user


def create_account(profile: SocialProfile, email: str, *, verified: bool) -> User:
    """A new customer for `profile` (no password: they sign in through the provider)."""
    user = User(
        email=email, username=unique_username(username_stem(profile.name, email)), password_hash=None,
        first_name=profile.first_name[:80], last_name=profile.last_name[:80], role=role_named(DEFAULT_ROLE),
        email_verified_at=utcnow() if verified else None,
    )
    db.session.add(user)
    db.session.add(SocialAccount(user=user, provider=profile.provider, subject=profile.subject, email=email))
    db.session.flush()
    audit.record("signup", actor_id=user.id, target=user, after={"method": profile.provider, "email_verified": verified})
    return user


def username_stem(name: str, email: str | None) -> str:
    """A valid username stem from the name, else the email's local part (same input, same stem)."""
    for source in (name, (email or "").partition("@")[0]):
        ascii_text = unicodedata.normalize("NFKD", source or "").encode("ascii", "ignore").decode().lower()
        stem = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:USERNAME_STEM].rstrip("_")
        if len(stem) >= USERNAME_MIN:
            return stem
    return "member"


def unique_username(stem: str) -> str:
    """`stem`, or `stem2`, `stem3` … : the first one nobody has."""
    taken = set(db.session.scalars(sa.select(User.username).where(User.username.startswith(stem, autoescape=True))))
    for n in itertools.count(1):
        candidate = stem if n == 1 else f"{stem}{n}"
        if candidate not in taken:
            return candidate[:USERNAME_MAX]


def _sign_in(user: User, provider: Provider) -> None:
    if not user.is_active:
        db.session.rollback()  # nothing is linked or created for a deactivated account
        _failed(provider, "inactive", user)
        raise SignInProblem("This account has been deactivated. Contact support if you think this is a mistake.",
                            status=403, provider=provider)
    start_session(user)
    audit.record("login", actor_id=user.id, target=user, after={"method": provider.name})
    db.session.commit()


# --- No usable email from the provider: ask for one ------------------------------------

def _keep_pending(profile: SocialProfile, next_url: str, *, reason: str) -> None:
    session[PENDING_KEY] = {**asdict(profile), "next": next_url, "reason": reason}


def pending_profile() -> tuple[SocialProfile, dict] | None:
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or data.get("provider") not in PROVIDERS or not data.get("subject"):
        return None
    profile = SocialProfile(
        provider=data["provider"], subject=str(data.get("subject") or ""), email=data.get("email") or None,
        email_verified=bool(data.get("email_verified")), name=str(data.get("name") or ""),
        first_name=str(data.get("first_name") or ""), last_name=str(data.get("last_name") or ""),
    )
    return profile, {"next": safe_next(data.get("next")) or url_for("main.home"), "reason": data.get("reason")}


def normalize_email(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError("Enter your email address.", field="email")
    if len(value) > 254:
        raise ValidationError("That address is too long.", field="email")
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError("Enter a valid email address, like name@example.com.", field="email") from exc


def finish_with_email(raw_email: str) -> SignInResult:
    """Create the account for the pending profile with the address the person typed.

    The address is not verified yet (email_verified_at stays empty): only a code sent to it can prove it.
    """
    pending = pending_profile()
    if pending is None:
        raise SignInProblem("Your sign-in has expired. Please start again.", status=400)
    profile, extra = pending
    provider = get_provider(profile.provider)
    email = normalize_email(raw_email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ValidationError(EMAIL_TAKEN, field="email")
    user = _resolve_pending(profile, email)
    session.pop(PENDING_KEY, None)
    _sign_in(user, provider)
    return SignInResult(user, extra["next"])


def _resolve_pending(profile: SocialProfile, email: str) -> User:
    try:
        user = create_account(profile, email, verified=False)
        db.session.flush()
        return user
    except IntegrityError:
        # The same provider account finished in another tab meanwhile.
        db.session.rollback()
        known = db.session.scalar(sa.select(SocialAccount).where(
            SocialAccount.provider == profile.provider, SocialAccount.subject == profile.subject))
        if known is None:
            raise ValidationError(EMAIL_TAKEN, field="email") from None
        return known.user
