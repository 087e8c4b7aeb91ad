"""A social sign-in waiting for a proven email address, kept in the (signed) session.

The provider gave no email, or one it hasn't verified. The person names an address
and proves it with a code (app/oauth/services.py); until then nothing is created or
linked. The wait lasts PENDING_TTL from the provider's answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from flask import session

from app.models.base import utcnow
from app.oauth.providers import PROVIDERS, SocialProfile

KEY = "oauth_pending"
PENDING_TTL = timedelta(minutes=30)
# The provider gave no email / one it hasn't verified / one we can't deliver to.
REASONS = ("missing", "unverified", "undeliverable")


@dataclass(frozen=True)
class Pending:
    profile: SocialProfile
    next_url: str | None
    reason: str
    email: str | None  # the address the latest code went to


def keep(profile: SocialProfile, next_url: str | None, *, reason: str) -> None:
    session[KEY] = {
        "profile": asdict(profile),
        "next": next_url,
        "reason": reason,
        "email": None,
        "since": utcnow().timestamp(),
    }


def current() -> Pending | None:
    """The sign-in waiting in this browser, or None (none, malformed or expired)."""
    data = session.get(KEY)
    if not isinstance(data, dict):
        return None
    found = data.get("profile")
    if not isinstance(found, dict) or found.get("provider") not in PROVIDERS or not found.get("subject"):
        return None
    since = data.get("since")
    age = utcnow().timestamp() - since if isinstance(since, (int, float)) else None
    if age is None or not 0 <= age <= PENDING_TTL.total_seconds():
        drop()
        return None
    profile = SocialProfile(
        provider=found["provider"],
        subject=str(found["subject"]),
        email=found.get("email") or None,
        email_verified=False,
        name=str(found.get("name") or ""),
        first_name=str(found.get("first_name") or ""),
        last_name=str(found.get("last_name") or ""),
    )
    return Pending(
        profile=profile,
        next_url=str(data["next"]) if data.get("next") else None,
        reason=str(data["reason"]) if data.get("reason") in REASONS else "missing",
        email=data.get("email") or None,
    )


def code_sent_to(email: str) -> None:
    session[KEY] = {**session[KEY], "email": email}


def drop() -> None:
    session.pop(KEY, None)
