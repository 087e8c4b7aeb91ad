"""Delete an account (ASVS V14 data protection; GDPR art. 17): by its owner or by staff.

Subscriptions are cancelled at once (nothing renews or charges again), every session ends, the
personal data is erased (names, phone, address, date of birth, company, tax id, social sign-in
links, cards, notifications, codes, exports) and the email and username become placeholders that
can't receive mail or sign in. Invoices and transactions stay, billed to "Deleted customer". The
username is held for HOLD_DAYS so nobody else can pass for the person at once. A goodbye email goes
to the address as it was (queued with the address: the one message that may carry it).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app import audit
from app.auth import usernames
from app.auth.services import guard_last_admin
from app.auth.sessions import is_live
from app.billing.services import erasure as billing_erasure
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.mail.services import queue_email
from app.models.base import utcnow
from app.models.export import DataExport
from app.models.notification import Notification
from app.models.otp import UserOTP
from app.models.social import SocialAccount
from app.models.user import User, UsernameHold, UserSession

HOLD_DAYS = 30
PLACEHOLDER_DOMAIN = "deleted.invalid"  # RFC 2606: .invalid never resolves, so nothing is ever delivered


def confirm_problem(user: User, typed: str | None) -> str | None:
    """Why `typed` doesn't confirm deleting `user` (it must be the username), or None."""
    if usernames.normalize_username(typed) != user.username:
        return f"Type your username, {user.username}, exactly to confirm."
    return None


def delete_account(user_id: uuid.UUID, *, actor_id: uuid.UUID | None, typed_username: str | None) -> str:
    """Erase the account of `user_id` (see the module). Returns the username it had.

    `typed_username` must be the account's username (ValidationError on the field otherwise);
    the last admin is refused (Conflict); a deleted or unknown account is NotFound.
    """
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None:
        raise NotFound("There is no such account.")
    problem = confirm_problem(user, typed_username)
    if problem:
        raise ValidationError({"username": problem})
    if actor_id is not None and actor_id != user.id and user.role.name == "admin":
        raise Conflict("This account has the admin role: change its role first (roles are changed on this page).")
    guard_last_admin(user)
    name, email, username = user.display_name, user.email, user.username
    cancelled = billing_erasure.cancel_all_now(user.id, actor_id=actor_id)
    billing_erasure.anonymize_records(user.id)
    ended = _end_everything(user.id)
    _erase(user)
    _hold(username)
    audit.record(
        "user.deleted",
        actor_id=actor_id,
        target=user,
        after={
            "by": "self" if actor_id == user.id else "staff",
            "subscriptions_cancelled": cancelled,
            "sessions_ended": ended,
        },
    )
    queue_email(email, "account_deleted", {"name": name, "username": username, "hold_days": HOLD_DAYS})
    db.session.commit()
    usernames.remember_taken(username)
    return username


def _end_everything(user_id: uuid.UUID) -> int:
    """Delete the sessions (ending them, with the IPs and devices they kept) and what else is only personal."""
    live = db.session.scalar(
        sa.select(sa.func.count()).select_from(UserSession).where(UserSession.user_id == user_id, is_live(utcnow()))
    )
    for model in (UserSession, Notification, UserOTP, SocialAccount, DataExport):
        db.session.execute(sa.delete(model).where(model.user_id == user_id))
    return int(live or 0)


def _erase(user: User) -> None:
    placeholder = f"deleted-{user.id.hex[:22]}"  # a hyphen: no one can sign up with it
    user.email = f"{placeholder}@{PLACEHOLDER_DOMAIN}"
    user.username = placeholder
    user.password_hash = None
    user.phone = user.phone_verified_at = None
    user.first_name = user.last_name = ""
    user.gender = user.date_of_birth = None
    user.address = user.company = user.tax_id = None
    user.is_active = False
    user.last_login_at = None
    user.deleted_at = utcnow()


def _hold(username: str) -> None:
    until = utcnow() + timedelta(days=HOLD_DAYS)
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(UsernameHold)
        .values(username=username, held_until=until)
        .on_conflict_do_update(index_elements=["username"], set_={"held_until": until})
    )


def release_expired_holds() -> int:
    """Free the usernames held longer than HOLD_DAYS (the hourly clean-up). Returns how many. Commits."""
    result = db.session.execute(sa.delete(UsernameHold).where(UsernameHold.held_until <= utcnow()))
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
