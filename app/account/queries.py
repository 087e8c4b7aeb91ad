"""Read-only lookups for the account pages: the person's recent security events, as sentences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import User

METHODS = {
    "password": "your password",
    "code": "an emailed code",
    "verification": "your verification code",
    "passkey": "a passkey",
    "google": "Google",
    "facebook": "Facebook",
    "totp": "your authenticator app",
    "recovery_code": "a recovery code",
    "email_code": "an emailed code",
}
# What each kind says to the person it is about (the admin log has its own sentences, with links).
SENTENCES = {
    "auth.login": "You signed in with {method}",
    "auth.second_factor": "You completed the sign-in with {factor}",
    "auth.login_failed": "A sign-in to your account failed",
    "auth.logout": "You signed out",
    "auth.reauthenticated": "You confirmed it was you with {method}",
    "auth.reauth_failed": "A confirmation that it was you failed",
    "password.changed": "You changed your password",
    "password.reset": "You reset your password by email",
    "mfa.totp_enabled": "You turned on your authenticator app",
    "mfa.totp_disabled": "You turned off your authenticator app",
    "mfa.recovery_codes_regenerated": "You made new recovery codes (the old ones stopped working)",
    "mfa.reset_by_staff": "Our staff reset your second factor",
    "session.ended": "You signed out a session on {device}",
    "session.ended_others": "You signed out your other sessions",
    "user.email_verified": "You verified your email address",
    "user.deactivated": "Your account was deactivated",
    "user.reactivated": "Your account was reactivated",
}
REASONS = {"credentials": "wrong password", "code": "wrong code", "second_factor": "wrong second-factor code"}


@dataclass(frozen=True)
class SecurityEvent:
    at: datetime
    sentence: str
    ip: str | None


def _sentence(event: AuditEvent) -> str:
    after: dict[str, Any] = event.after or {}
    text = SENTENCES[event.action].format(
        method=METHODS.get(str(after.get("method")), "another way"),
        factor=METHODS.get(str(after.get("factor")), "a second factor"),
        device=after.get("device") or "a device",
    )
    if event.action == "auth.login" and after.get("device"):
        text += f" on {after['device']}"
    if event.action == "auth.login_failed" and after.get("reason") in REASONS:
        text += f" ({REASONS[after['reason']]})"
    return text + "."


def security_events(user: User, *, limit: int = 20) -> list[SecurityEvent]:
    """The person's latest sign-ins and security changes, newest first."""
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action.in_(SENTENCES),
            sa.or_(
                sa.and_(AuditEvent.target_type == "users", AuditEvent.target_id == str(user.id)),
                sa.and_(AuditEvent.actor_id == user.id, AuditEvent.action.like("session.%")),
            ),
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    return [SecurityEvent(event.created_at, _sentence(event), event.ip) for event in events]
