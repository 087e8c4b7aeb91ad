"""The social providers: how to reach each one and how to read who signed in.

Google is OpenID Connect (discovery, nonce, PKCE, a signed ID token); Facebook is
plain OAuth 2 with a Graph API call for the profile. Authlib's Flask client does
the protocol work; clients are cached per app and rebuilt when settings change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Config, Flask, current_app

from app.auth.emails import deliverable_email
from app.errors import NotFound
from app.redis_client import get_redis


@dataclass(frozen=True)
class SocialProfile:
    """Who the provider says signed in. `email` is in our normal form (app/auth/emails.py), or None when
    the provider gave none or one we could not deliver to (the person is then asked for an address)."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str = ""
    first_name: str = ""
    last_name: str = ""
    email_undeliverable: bool = False  # it gave one, but not one we can send to


def _read_email(raw: object) -> tuple[str | None, bool]:
    """The address we can send to, and whether the provider gave one we can't."""
    email = deliverable_email(raw)
    return email, bool(raw) and email is None


@dataclass(frozen=True)
class Provider(ABC):
    name: str
    label: str

    def is_configured(self, config: Config) -> bool:
        prefix = self.name.upper()
        return bool(config.get(f"{prefix}_CLIENT_ID") and config.get(f"{prefix}_CLIENT_SECRET"))

    @abstractmethod
    def settings(self, config: Config) -> dict[str, Any]:
        """Keyword arguments for Authlib's `OAuth.register`."""

    @abstractmethod
    def profile(self, client: Any, token: dict[str, Any]) -> SocialProfile:
        """Read who signed in from the token response (and the provider's API)."""


class Google(Provider):
    def settings(self, config: Config) -> dict[str, Any]:
        return {
            "client_id": config["GOOGLE_CLIENT_ID"],
            "client_secret": config["GOOGLE_CLIENT_SECRET"],
            "server_metadata_url": config["GOOGLE_DISCOVERY_URL"],
            "client_kwargs": {
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "default_timeout": config["OAUTH_TIMEOUT"],
            },
        }

    def profile(self, client: Any, token: dict[str, Any]) -> SocialProfile:
        # Authlib has already checked the ID token: signature (JWKS), issuer, audience, expiry, nonce.
        claims = dict(token["userinfo"])
        if not claims.get("email"):
            # Providers may keep profile claims for the userinfo endpoint (Google puts them in the ID token).
            extra = client.userinfo(token=token)
            if extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
        email, undeliverable = _read_email(claims.get("email"))
        return SocialProfile(
            provider=self.name,
            subject=str(claims["sub"]),
            email=email,
            email_undeliverable=undeliverable,
            email_verified=bool(email) and claims.get("email_verified") in (True, "true"),
            name=claims.get("name") or "",
            first_name=claims.get("given_name") or "",
            last_name=claims.get("family_name") or "",
        )


class Facebook(Provider):
    def settings(self, config: Config) -> dict[str, Any]:
        version = config["FACEBOOK_GRAPH_VERSION"]
        return {
            "client_id": config["FACEBOOK_CLIENT_ID"],
            "client_secret": config["FACEBOOK_CLIENT_SECRET"],
            "authorize_url": config["FACEBOOK_AUTHORIZE_URL"].format(version=version),
            "access_token_url": config["FACEBOOK_TOKEN_URL"].format(version=version),
            "api_base_url": config["FACEBOOK_API_BASE_URL"].format(version=version),
            "client_kwargs": {
                "scope": "email public_profile",
                "token_endpoint_auth_method": "client_secret_post",
                "default_timeout": config["OAUTH_TIMEOUT"],
            },
        }

    def profile(self, client: Any, token: dict[str, Any]) -> SocialProfile:
        # appsecret_proof: Graph calls signed with the app secret, so a leaked token alone is not enough.
        proof = hmac.new(client.client_secret.encode(), token["access_token"].encode(), hashlib.sha256).hexdigest()
        response = client.get("me", params={"fields": "id,name,email", "appsecret_proof": proof}, token=token)
        response.raise_for_status()
        data = response.json()
        name = (data.get("name") or "").strip()
        first, _, last = name.partition(" ")
        email, undeliverable = _read_email(data.get("email"))
        # Graph returns `email` only for a confirmed primary address, so it counts as verified.
        return SocialProfile(
            provider=self.name,
            subject=str(data["id"]),
            email=email,
            email_undeliverable=undeliverable,
            email_verified=bool(email),
            name=name,
            first_name=first,
            last_name=last.strip(),
        )


PROVIDERS: dict[str, Provider] = {p.name: p for p in (Google("google", "Google"), Facebook("facebook", "Facebook"))}


def configured_providers(app: Flask | None = None) -> list[Provider]:
    config = (app or current_app).config
    return [p for p in PROVIDERS.values() if p.is_configured(config)]


def get_provider(name: str) -> Provider:
    """The provider called `name`, if it is known and configured (else 404: no hint which)."""
    provider = PROVIDERS.get(name)
    if provider is None or not provider.is_configured(current_app.config):
        raise NotFound("That sign-in option isn't available.")
    return provider


class _StateStore:
    """Authlib's state cache on Redis: the nonce and PKCE verifier stay server-side, not in the cookie."""

    prefix = "oauth:"

    def get(self, key: str) -> Any:
        return get_redis().get(self.prefix + key)

    def set(self, key: str, value: str | bytes, expires_in: int | None = None) -> None:
        get_redis().set(self.prefix + key, value, ex=expires_in)

    def delete(self, key: str) -> None:
        get_redis().delete(self.prefix + key)


def client_for(provider: Provider) -> Any:
    """The Authlib client for `provider` (untyped: Authlib ships no types), built once per app and settings."""
    # The app itself, not the proxy: Authlib keeps it on the registry.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as Flask
    settings = provider.settings(app.config)
    fingerprint = json.dumps(settings, sort_keys=True, default=str)
    clients = app.extensions.setdefault("oauth_clients", {})
    cached = clients.get(provider.name)
    if cached is None or cached[0] != fingerprint:
        registry = OAuth(app, cache=_StateStore())
        cached = clients[provider.name] = (fingerprint, registry.register(provider.name, **settings))
    return cached[1]
