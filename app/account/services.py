"""The signed-in user's own account: profile, phone verification, sessions."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from app import audit
from app.auth import throttle
from app.auth.otp import queue_code, verify_otp
from app.auth.sessions import end_other_sessions, is_live
from app.dates import zone_named
from app.errors import AuthenticationError, NotFound, RateLimited, ValidationError
from app.extensions import db
from app.links import path_for
from app.models.base import utcnow
from app.models.user import User, UserSession
from app.notifications.services import notify

BAD_PHONE_CODE = "That code is wrong or has expired. Ask for a new one if you need to."
BAD_ZONE = "Choose a time zone from the list, such as Europe/Berlin."


@dataclass(frozen=True)
class BillingDetails:
    """Who an invoice is made out to, besides the name: edited on the profile and at checkout."""

    company: str = ""
    address: dict[str, str] | None = None  # line1, line2, city, region, postal_code, country
    tax_id: str = ""

    def columns(self) -> dict[str, object]:
        """The user's columns these details set (blank is None)."""
        return {
            "address": self.address if self.address and any(self.address.values()) else None,
            "company": self.company.strip() or None,
            "tax_id": self.tax_id.strip() or None,
        }


@dataclass(frozen=True)
class Profile:
    """What the profile page edits, besides the phone (which has its own, verified, path)."""

    first_name: str = ""
    last_name: str = ""
    gender: str | None = None
    date_of_birth: date | None = None
    billing: BillingDetails = BillingDetails()  # printed on invoices
    timezone: str | None = None  # an IANA name; None keeps the one set (or none)


def checked_zone(name: str) -> str:
    """`name` if it is an IANA time zone name (ValidationError on the timezone field otherwise)."""
    if zone_named(name) is None:
        raise ValidationError({"timezone": BAD_ZONE})
    return name


class PhoneChange(enum.Enum):
    KEPT = "kept"
    REMOVED = "removed"
    CODE_SENT = "code_sent"  # the new number is set once the code comes back


def save_profile(user: User, profile: Profile, *, phone: str | None) -> PhoneChange:
    """Save the profile, then act on the phone: remove it, or text a code to a new one.

    The profile is saved even when the code can't go out yet (RateLimited, on the phone field).
    """
    update_profile(user, profile)
    if not phone and user.phone:
        remove_phone(user)
        return PhoneChange.REMOVED
    if phone and phone != user.phone:
        try:
            send_phone_code(user, phone)
        except RateLimited as exc:
            raise RateLimited(exc.message, retry_after=exc.retry_after, field="phone") from exc
        return PhoneChange.CODE_SENT
    return PhoneChange.KEPT


def update_profile(user: User, profile: Profile) -> None:
    """Save names, gender, date of birth, address, billing details (company, tax id) and the time zone.

    Invoices already issued keep the details they were issued with (Invoice.bill_to)."""
    timezone = checked_zone(profile.timezone) if profile.timezone else user.timezone
    _change(
        user,
        {
            "first_name": profile.first_name or "",
            "last_name": profile.last_name or "",
            "gender": profile.gender or None,
            "date_of_birth": profile.date_of_birth,
            **profile.billing.columns(),
            "timezone": timezone,
        },
    )
    db.session.commit()


def save_billing_details(user: User, details: BillingDetails) -> None:
    """The billing details given at checkout become the profile's, once its payment went through (caller commits)."""
    _change(user, details.columns())


def _change(user: User, new: dict[str, object]) -> None:
    changed = [name for name, value in new.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, new[name])
    if changed:
        audit.record("user.profile_updated", actor_id=user.id, target=user, after={"fields": changed})


def detect_timezone(user: User, name: str) -> bool:
    """Keep the zone the browser reported, if the profile has none yet; a chosen zone is never replaced.

    One conditional UPDATE, so two tabs reporting at once store it once. True when it was stored."""
    checked_zone(name)
    stored = db.session.scalar(
        sa.update(User).where(User.id == user.id, User.timezone.is_(None)).values(timezone=name).returning(User.id)
    )
    if stored is not None:
        audit.record("user.timezone_detected", actor_id=user.id, target=user, after={"timezone": name})
    db.session.commit()
    db.session.refresh(user)
    return stored is not None


def send_phone_code(user: User, phone: str) -> None:
    """Text a code to `phone` (raises RateLimited inside the cooldown). The number is set once verified."""
    queue_code(user, "verify_phone", target=phone)
    db.session.commit()


def resend_phone_code(user: User, phone: str) -> None:
    """Another code for `phone`, counted against the account's code requests (RateLimited past them)."""
    throttle.hit("code_request", str(user.id))
    send_phone_code(user, phone)


def confirm_phone(user: User, phone: str, code: str) -> None:
    """Set the verified number. Whoever proves possession owns it: every other account holding the
    number (verified or not) loses it and is told so, in the app and by email. A wrong code: AuthenticationError."""
    if not verify_otp(user, "verify_phone", code, target=phone):
        raise AuthenticationError(BAD_PHONE_CODE, field="code")
    _lock_number(phone)
    holders = db.session.scalars(sa.select(User).where(User.phone == phone, User.id != user.id).with_for_update())
    for holder in holders:
        _release_phone(holder, claimed_by=user)
    user.phone, user.phone_verified_at = phone, utcnow()
    audit.record("user.phone_verified", actor_id=user.id, target=user)
    db.session.commit()


def _lock_number(phone: str) -> None:
    """Two accounts verifying one number at once take turns: the second then releases it from the first."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"phone:{phone}"})


def _release_phone(holder: User, *, claimed_by: User) -> None:
    number, was_verified = holder.phone or "", holder.phone_verified_at is not None
    holder.phone, holder.phone_verified_at = None, None
    audit.record("user.phone_released", actor_id=claimed_by.id, target=holder, after={"was_verified": was_verified})
    consequence = "and no longer signs you in" if was_verified else "(you hadn't verified it)"
    notify(
        holder.id,
        "phone_released",
        "Your phone number was removed from your account",
        f"The number ending {number[-4:]} was just verified by another account, so it is no longer on yours "
        f"{consequence}. If the number is yours, verify it again from your profile.",
        link=path_for("account.profile"),
        email=True,
    )


def remove_phone(user: User) -> None:
    user.phone, user.phone_verified_at = None, None
    audit.record("user.phone_removed", actor_id=user.id, target=user)
    db.session.commit()


def live_sessions(user: User) -> list[UserSession]:
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, is_live(utcnow()))
            .order_by(UserSession.last_seen_at.desc())
        )
    )


def end_one_session(user: User, session_id: uuid.UUID) -> UserSession:
    """End one of the user's other sessions; someone else's (or an ended one) is NotFound."""
    record = db.session.scalar(
        sa.select(UserSession).where(
            UserSession.id == session_id, UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
        )
    )
    if record is None or record.id == user.current_session_id:
        raise NotFound("That session isn't one of your other active sessions.")
    record.revoked_at = utcnow()
    audit.record("session.ended", actor_id=user.id, target=record, after={"device": record.device})
    db.session.commit()
    return record


def end_all_other_sessions(user: User) -> int:
    ended = end_other_sessions(user, keep=user.current_session_id)
    audit.record("session.ended_others", actor_id=user.id, target=user, after={"sessions_ended": ended})
    db.session.commit()
    return ended
