"""Social sign-in: run the provider round trip, then find, link or create the account.

Resolution order: the provider account (provider + subject) we already know; else
a *verified* provider email links to the account with that email, or makes a new
one. A provider that gives no email, or one it hasn't verified, leaves the sign-in
pending (app/oauth/pending.py): the person names an address and we email a code to
it. Only the right code links the provider account to the account with that
address, or creates one. The code belongs to the address, not to an account, so
the answer is the same whether or not the address is registered.

Signing in, audit names, usernames and emails are identity's (app/auth/).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
import requests
import sqlalchemy as sa
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import session
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import mfa, throttle, usernames
from app.auth import services as identity
from app.auth.otp import queue_code, verify_otp
from app.auth.sessions import end_other_sessions
from app.errors import (
    FORM,
    AppError,
    AuthenticationError,
    ExternalServiceError,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from app.extensions import db
from app.links import external_url
from app.models.base import utcnow
from app.models.social import SocialAccount
from app.models.user import User
from app.oauth import pending
from app.oauth.providers import Provider, SocialProfile, client_for, get_provider
from app.rbac import default_role

log = logging.getLogger(__name__)

NEXT_KEY = "oauth_next"
CODE_PURPOSE = "link_email"
EXPIRED = "Your sign-in has expired. Please start again."


class SignInProblem(AppError):
    """The round trip with the provider did not end in a usable identity (the subclasses say how)."""

    def __init__(self, message: str, *, provider: Provider | None = None) -> None:
        super().__init__(message)
        self.provider = provider


class SignInExpired(SignInProblem, ValidationError):
    """The sign-in can't be finished as it stands (expired, or started in another browser): start again."""

    def __init__(self, message: str = EXPIRED, *, provider: Provider | None = None) -> None:
        ValidationError.__init__(self, {FORM: message})
        self.provider = provider


class SignInRefused(SignInProblem, PermissionDenied):
    """The person cancelled at the provider, or the account is deactivated."""


class ProviderUnavailable(SignInProblem, ExternalServiceError):
    """The provider couldn't be reached, refused the exchange or answered something we can't use."""


@dataclass(frozen=True)
class SignInResult:
    user: User | None  # None: we still need a proven email (see app/oauth/pending.py)
    next_url: str | None  # the path on this site the person set out for, if any


@dataclass(frozen=True)
class SignedIn:
    user: User
    next_url: str | None


def authorization_url(provider_name: str, next_url: str | None) -> str:
    """Start the round trip: remember where to go afterwards (a path the page checked), return the provider's URL."""
    provider = get_provider(provider_name)
    client = client_for(provider)
    redirect_uri = external_url("oauth.callback", provider=provider.name)
    try:
        # Authlib adds state, and for OpenID Connect a nonce; PKCE comes from code_challenge_method.
        data = client.create_authorization_url(redirect_uri)
        client.save_authorize_data(redirect_uri=redirect_uri, **data)
    except (requests.RequestException, redis.RedisError, ValueError) as exc:
        log.warning("oauth start failed for %s: %s", provider.name, exc)
        raise ProviderUnavailable(
            f"We couldn't reach {provider.label} just now. Please try again in a moment.", provider=provider
        ) from exc
    session[NEXT_KEY] = next_url
    url: str = data["url"]
    return url


def complete_sign_in(provider_name: str, *, state: str, error: str | None = None) -> SignInResult:
    """Finish the round trip (state, code exchange, ID token) and sign the person in.

    `state` and `error` are the provider's answer (the callback's query); `error` is set when
    the person didn't get through (e.g. "access_denied").
    """
    provider = get_provider(provider_name)
    next_url: str | None = session.pop(NEXT_KEY, None) or None
    profile = _fetch_profile(provider, state, error)
    user = _resolve(profile, next_url)
    if user is None:
        return SignInResult(None, next_url)
    sign_in(user, provider, next_url)
    return SignInResult(user, next_url)


def _fetch_profile(provider: Provider, state: str, error: str | None) -> SocialProfile:
    if error:
        failed(provider, error)
        if error == "access_denied":
            raise SignInRefused(
                f"You cancelled signing in with {provider.label}, so nothing changed. "
                "You can try again or use another way to sign in.",
                provider=provider,
            )
        raise ProviderUnavailable(
            f"{provider.label} couldn't complete the sign-in. Please try again.", provider=provider
        )
    client = client_for(provider)
    try:
        # Only the browser that started this sign-in may use its state (a stranger's request
        # must not even use it up).
        if client.framework.get_state_data(session, state) is None:
            raise MismatchingStateError()
        token = client.authorize_access_token()
        return provider.profile(client, token)
    except MismatchingStateError as exc:
        failed(provider, "bad_state")
        raise SignInExpired(
            "This sign-in link has expired or was started in another browser. Please start again.", provider=provider
        ) from exc
    except (OAuthError, JoseError, requests.RequestException, redis.RedisError, KeyError, ValueError) as exc:
        # Token exchange refused, ID token invalid, provider unreachable or a malformed answer.
        log.warning("oauth callback failed for %s: %r", provider.name, exc)
        failed(provider, type(exc).__name__)
        raise ProviderUnavailable(
            f"We couldn't confirm your {provider.label} sign-in. Please try again.", provider=provider
        ) from exc


def failed(provider: Provider, reason: str, user: User | None = None) -> None:
    """Audit a sign-in that didn't happen, as identity does (`auth.login_failed`), and commit."""
    audit.record(
        "auth.login_failed", target=user, target_type="users", after={"method": provider.name, "reason": reason[:60]}
    )
    db.session.commit()


def _resolve(profile: SocialProfile, next_url: str | None) -> User | None:
    """The user for `profile`: known, or linked or created by a verified email. None when an email is needed."""
    known = _known(profile)
    if known is not None:
        return _refresh(known, profile)
    if profile.email and profile.email_verified:
        return settle(profile, profile.email)
    reason = "unverified" if profile.email else "undeliverable" if profile.email_undeliverable else "missing"
    pending.keep(profile, next_url, reason=reason)
    return None


def _known(profile: SocialProfile) -> SocialAccount | None:
    return db.session.scalar(
        sa.select(SocialAccount).where(
            SocialAccount.provider == profile.provider, SocialAccount.subject == profile.subject
        )
    )


def _refresh(known: SocialAccount, profile: SocialProfile) -> User:
    if profile.email and known.email != profile.email:
        known.email = profile.email
    return known.user


def settle(profile: SocialProfile, email: str) -> User:
    """The account for `profile` once `email` is proven (by the provider or by a code):
    the one this provider account already belongs to, else the one with that email, else a new one."""
    attempt = 0
    while True:
        try:
            known = _known(profile)
            if known is not None:
                return _refresh(known, profile)
            owner = identity.user_by_email(email)
            return _link(owner, profile) if owner is not None else create_account(profile, email)
        except IntegrityError:
            # A concurrent sign-in (double click, another tab) created the same row first: look again.
            db.session.rollback()
            attempt += 1
            if attempt > 2:
                raise


def _link(user: User, profile: SocialProfile) -> User:
    db.session.add(SocialAccount(user=user, provider=profile.provider, subject=profile.subject, email=profile.email))
    was_unverified = not user.is_verified
    cleared = False
    if was_unverified:
        # Whoever set this account up never proved the address; it is proven now. Their
        # password and sessions go, so an account "pre-registered" with someone's email can't be kept.
        user.email_verified_at = utcnow()
        cleared = user.password_hash is not None
        user.password_hash = None
        end_other_sessions(user)
        audit.record("user.email_verified", actor_id=user.id, target=user, after={"method": profile.provider})
    audit.record(
        "user.social_linked",
        actor_id=user.id,
        target=user,
        after={"provider": profile.provider, "email_verified_now": was_unverified, "password_cleared": cleared},
    )
    db.session.flush()
    return user


def create_account(profile: SocialProfile, email: str) -> User:
    """A new customer for `profile` with a proven `email` (no password: they sign in through the provider)."""
    stem = usernames.stem_from(profile.name, email.partition("@")[0])
    user = User(
        email=email,
        username=usernames.free_username(stem),
        password_hash=None,
        first_name=profile.first_name[:80],
        last_name=profile.last_name[:80],
        role=default_role(),
        email_verified_at=utcnow(),
    )
    db.session.add(user)
    db.session.add(SocialAccount(user=user, provider=profile.provider, subject=profile.subject, email=profile.email))
    db.session.flush()
    audit.record("user.signup", actor_id=user.id, target=user, after={"method": profile.provider})
    identity.send_welcome(user)
    return user


def sign_in(user: User, provider: Provider, next_url: str | None = None) -> None:
    """Start the session through identity's login (audited `auth.login`), or the second step, and commit."""
    if not user.is_active:
        db.session.rollback()  # nothing is linked or created for a deactivated account
        failed(provider, "inactive", user)
        raise SignInRefused(
            "This account has been deactivated. Contact support if you think this is a mistake.", provider=provider
        )
    mfa.begin_sign_in(user, method=provider.name, next_url=next_url)
    usernames.remember_taken(user.username)


# --- No usable email from the provider: prove one with a code --------------------------


def waiting() -> pending.Pending:
    found = pending.current()
    if found is None:
        raise SignInExpired()
    return found


def send_link_code(email: str, *, resend: bool = False) -> None:
    """Email a code to `email` (a normalized address) for the pending sign-in.

    Whether or not an account uses the address, the same happens. Inside the
    cooldown a first request sends nothing (the code sent moments ago still
    works); a resend raises RateLimited, as do the per-address limits.
    """
    found = waiting()
    throttle.hit("code_request", email)
    name = found.profile.first_name or found.profile.name or "there"
    try:
        queue_code(None, CODE_PURPOSE, target=email, name=name[:60])
    except RateLimited:
        db.session.rollback()
        if resend:
            raise
    else:
        db.session.commit()
    pending.code_sent_to(email)


def finish_with_code(code: str) -> SignedIn:
    """The right code proves the address: link or create the account, and sign in."""
    found = waiting()
    if not found.email:
        raise SignInExpired()
    provider = get_provider(found.profile.provider)
    if not verify_otp(None, CODE_PURPOSE, code, target=found.email):
        failed(provider, "code")
        raise AuthenticationError(identity.BAD_CODE, field="code")
    pending.drop()
    user = settle(found.profile, found.email)
    sign_in(user, provider, found.next_url)
    return SignedIn(user, found.next_url)
