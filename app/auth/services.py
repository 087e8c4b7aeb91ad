"""Identity services: signup, verification, login (password or emailed code), logout, roles.

Routes, CLI and other features call these; each commits its own work.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app import audit
from app.auth import mfa, throttle, usernames
from app.auth.emails import InvalidEmail, email_key, normalize_email
from app.auth.otp import queue_code, verify_otp
from app.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.auth.phones import looks_like_phone, normalize_phone
from app.auth.sessions import end_other_sessions, end_session, start_session
from app.dates import zone_named
from app.errors import AuthenticationError, Conflict, NotFound, RateLimited, ValidationError
from app.extensions import db
from app.links import external_url, path_for
from app.models.base import utcnow
from app.models.user import Role, User
from app.notifications.services import notify
from app.rbac import default_role, role_named

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "That username, email or phone and password don't match an account."
BAD_CODE = "That code is wrong or has expired. Check the latest email, or ask for a new code."


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email_key(email)))


def find_user(identifier: str) -> User | None:
    """The account an identifier names: an email, a username or a phone number."""
    text = (identifier or "").strip()
    if "@" in text:
        return user_by_email(text)
    name = usernames.normalize_username(text)
    if usernames.username_problem(name) is None:
        user: User | None = db.session.scalar(sa.select(User).where(User.username == name))
        if user is not None:
            return user
    if looks_like_phone(text):
        try:
            phone = normalize_phone(text)
        except ValueError:
            return None
        # Only a verified number identifies: an unverified one may be on several accounts, or not be theirs.
        return db.session.scalar(sa.select(User).where(User.phone == phone, User.phone_verified_at.is_not(None)))
    return None


def send_verification_code(user: User) -> None:
    """Email a fresh verification code (raises RateLimited inside the cooldown)."""
    queue_code(user, "verify_email", target=user.email)
    db.session.commit()


def _verification_owner(user: User | None) -> User | None:
    """Whose verification code an address gets: the active, unverified account there, else the bare address (None).

    A verified account is never sent a code from the signup pages: its job sends
    the "someone tried to sign up with your address" notice instead.
    """
    return user if user is not None and user.is_active and user.email_verified_at is None else None


def register(
    *, username: str, email: str, password: str, phone: str | None = None, timezone: str | None = None
) -> User | None:
    """Create an unverified customer and queue its verification code.

    `timezone` is the zone the browser reported before signing up (the `tz` cookie), kept when it is one.

    Returns None, having created nothing, when the email already has an
    account. Both paths do the same work in the request — the password hash,
    the username and phone checks, one INSERT of the account (which does
    nothing when the email is taken) and one read of it, an audit row, one code
    row, one job — and the job decides what to send (the code, or the notice
    that someone tried to sign up with the address), so neither the answer nor
    its timing tells a stranger who is registered. The phone is kept unverified
    (unverified numbers may collide, so it tells nothing either); it signs in once
    verified from the profile.
    """
    username, email = usernames.normalize_username(username), _normalized_email(email)
    if usernames.is_reserved(username):  # a property of the name alone: says nothing about who is registered
        raise ValidationError({"username": f"“{username}” is reserved. Choose another username."})
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise ValidationError({"password": problem})
    password_hash = hash_password(password)  # before the lookups, so both paths take as long
    if usernames.is_taken(username):
        raise ValidationError({"username": f"“{username}” is taken. Try one of the suggestions."})
    user = _insert_unless_taken(
        username=username,
        email=email,
        phone=phone or None,
        password_hash=password_hash,
        role_id=default_role().id,
        password_changed_at=utcnow(),
        timezone=timezone if zone_named(timezone) else None,
    )
    if user is None:
        holder = user_by_email(email)
        if holder is None:  # not the email: the username (or phone) was registered since the check above
            raise ValidationError({"username": f"“{username}” was just taken. Try one of the suggestions."})
        audit.record("user.signup_duplicate", target_type="users", after={"email": email})
        with contextlib.suppress(RateLimited):  # asked moments ago: that message stands (nothing was written yet)
            queue_code(_verification_owner(holder), "verify_email", target=email)
        db.session.commit()
        return None
    audit.record("user.signup", actor_id=user.id, target=user)
    send_verification_code(user)
    usernames.remember_taken(username)
    return user


def _normalized_email(raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidEmail as exc:
        raise ValidationError({"email": str(exc)}) from None


def _insert_unless_taken(**values: object) -> User | None:
    """INSERT … ON CONFLICT DO NOTHING: the new account, or None when its email, username or phone is taken.

    One statement either way, and no error (nor a line in the database's log) for a taken address.
    """
    dialect = db.session.get_bind().dialect.name
    table = cast(sa.Table, User.__table__)  # a mapped class's table (typed as a FromClause)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    user_id = db.session.scalar(insert.values(**values).on_conflict_do_nothing().returning(table.c.id))
    return db.session.get(User, user_id) if user_id is not None else None


def resend_verification_code(address: str) -> None:
    """Another verification code for `address` (or the notice, if a verified account has it).

    The same work and answer whatever holds the address; RateLimited inside the cooldown.
    """
    address = email_key(address)
    throttle.hit("code_request", address)
    queue_code(_verification_owner(user_by_email(address)), "verify_email", target=address)
    db.session.commit()


def complete_email_verification(address: str, code: str) -> User:
    """Check the code sent for `address`; on success mark the email verified, send the welcome and sign in.

    With no unverified account at the address, the code is checked against the
    address's own code row (which never signs anyone in), so a wrong code costs
    the same either way. Returns the user signed in; AuthenticationError (on the code) otherwise.
    """
    user = verify_email_code(address, code)
    start_session(user)
    audit.record("auth.login", actor_id=user.id, target=user, after={"method": "verification"})
    db.session.commit()
    return user


def verify_email_code(address: str, code: str) -> User:
    """The code check of `complete_email_verification`, without signing in (the caller does, and commits).

    On success the email is marked verified and the welcome queued; AuthenticationError (on the code) otherwise.
    """
    address = email_key(address)
    user = _verification_owner(user_by_email(address))
    if not verify_otp(user, "verify_email", code, target=None if user else address) or user is None:
        raise AuthenticationError(BAD_CODE, field="code")
    first_time = user.email_verified_at is None
    user.email_verified_at = user.email_verified_at or utcnow()
    audit.record("user.email_verified", actor_id=user.id, target=user)
    if first_time:
        send_welcome(user)
    return user


def send_welcome(user: User) -> None:
    """The welcome, in-app and by email (caller commits)."""
    endpoint = "catalog.index"
    site = current_app.config["SITE_NAME"]
    # In-app links are paths (they follow whatever origin the person is on); the email needs the origin.
    notify(
        user.id,
        "welcome",
        f"Welcome to {site}, {user.display_name}!",
        "Your account is ready. Browse the catalog and start a free trial of anything that looks useful.",
        link=path_for(endpoint),
        email=True,
        email_context={"catalog_url": external_url(endpoint)},
    )


def _account_key(user: User | None, identifier: str) -> str:
    return str(user.id) if user is not None else identifier.strip().lower()


def authenticate(identifier: str, password: str, *, devices: Mapping[str, str] | None = None) -> User:
    """The user whose identifier and password match, or AuthenticationError (same text either way).

    5 failures in 5 minutes lock password sign-in (RateLimited); a success clears the count. They
    are counted per device cookie when `devices` (user id → nonce, app/auth/devices.py) vouches
    for this browser and the account, else per account: strangers can't lock the owner out.
    """
    user = find_user(identifier)
    device = (devices or {}).get(str(user.id)) if user is not None else None
    kind, key = ("device_failed", device) if device else ("login_failed", _account_key(user, identifier))
    throttle.check(kind, key)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        audit.record(
            "auth.login_failed",
            target=user,
            target_type="users",
            after={"identifier": identifier.strip()[:80], "reason": "inactive" if valid else "credentials"},
        )
        db.session.commit()
        throttle.hit(kind, key)
        raise AuthenticationError(BAD_CREDENTIALS, field="password")
    throttle.clear(kind, key)
    if user.password_hash is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def sign_in_with_password(
    identifier: str,
    password: str,
    *,
    remember: bool = False,
    devices: Mapping[str, str] | None = None,
    next_url: str | None = None,
) -> User:
    """`authenticate`, then sign in (or ask for the second factor, app/auth/mfa.py); an unverified account
    instead gets a fresh code (no session).

    The caller tells them apart by `user.is_verified` and `current_user.is_authenticated`.
    """
    user = authenticate(identifier, password, devices=devices)
    if user.is_verified:
        mfa.begin_sign_in(user, remember=remember, method="password", next_url=next_url)
    else:
        remind_to_verify(user)
    return user


def remind_to_verify(user: User) -> None:
    """Email a verification code to an unverified account that tried to sign in.

    Inside the cooldown nothing is sent (nor is anything this request changed kept): the code
    that went out moments ago still works.
    """
    try:
        send_verification_code(user)
    except RateLimited:
        db.session.rollback()


def login(user: User, *, remember: bool = False, method: str = "password") -> None:
    """THE way a full session starts: every factor the sign-in needs has been checked by now."""
    record = start_session(user, remember=remember)
    audit.record(
        "auth.login",
        actor_id=user.id,
        target=user,
        after={"method": method, "remember": remember, "device": record.device},
    )
    db.session.commit()


def _active(user: User | None) -> User | None:
    return user if user is not None and user.is_active else None


def request_login_code(email: str) -> None:
    """Queue a sign-in code for the address; the job sends it only if an active account has it.

    The request issues the code row either way (for the account, or for the
    bare address), so the answer and its timing are the same; inside the
    cooldown nothing is queued, and the code sent moments ago still works.
    """
    email = email_key(email)
    throttle.hit("code_request", email)
    try:
        queue_code(_active(user_by_email(email)), "login", target=email)
    except RateLimited:
        db.session.rollback()
        return
    db.session.commit()


def login_with_code(email: str, code: str, *, remember: bool = False, next_url: str | None = None) -> User:
    user = check_login_code(email, code)
    mfa.begin_sign_in(user, remember=remember, method="code", next_url=next_url)
    return user


def check_login_code(email: str, code: str) -> User:
    """The first factor of a code sign-in: the active account whose emailed code this is (AuthenticationError
    on the code otherwise; the failure audited and committed). The code proves the address."""
    email = email_key(email)
    found = user_by_email(email)
    found_id = str(found.id) if found is not None else None  # read now: verify_otp's commit expires it
    user = _active(found)
    # Without an account the address's own code row is checked (it never signs in): the same work either way.
    if not verify_otp(user, "login", code, target=None if user else email) or user is None:
        audit.record(
            "auth.login_failed",
            target_type="users",
            target_id=found_id,
            after={"identifier": email[:80], "reason": "code"},
        )
        db.session.commit()
        raise AuthenticationError(BAD_CODE, field="code")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the code reached the inbox: that proves the address
        audit.record("user.email_verified", actor_id=user.id, target=user)
    return user


def logout(user: User) -> None:
    audit.record("auth.logout", actor_id=user.id, target=user)
    end_session(user)
    db.session.commit()


def guard_last_admin(user: User) -> None:
    """Refuse to take the admin role (or the account) from the last active admin.

    Every active admin row is locked first, so two concurrent demotions cannot both pass.
    """
    admins = db.session.scalars(
        sa.select(User.id).join(Role).where(Role.name == "admin", User.is_active.is_(True)).with_for_update(of=User)
    ).all()
    if user.role.name == "admin" and list(admins) == [user.id]:
        raise Conflict("This is the last admin: make someone else an admin first.")


def change_role(user: User, role_name: str, *, actor_id: uuid.UUID | None = None) -> None:
    role = role_named(role_name)
    if role is None:
        raise NotFound(f"There is no role named “{role_name}”.")
    if role.name != "admin":
        guard_last_admin(user)
    before = user.role.name
    user.role = role
    audit.record(
        "user.role_changed", actor_id=actor_id, target=user, before={"role": before}, after={"role": role_name}
    )
    db.session.commit()


def deactivate(user: User, *, actor_id: uuid.UUID | None = None) -> int:
    """Deactivate the account and end all its sessions. Returns how many sessions ended."""
    if actor_id is not None and actor_id == user.id:
        raise Conflict("You can't deactivate your own account.")
    guard_last_admin(user)
    user.is_active = False
    ended = end_other_sessions(user)
    audit.record("user.deactivated", actor_id=actor_id, target=user, after={"sessions_ended": ended})
    db.session.commit()
    return ended


def sign_out_everywhere(user: User, *, actor_id: uuid.UUID | None) -> int:
    """Staff end every session of `user` (ASVS V7.4.5), remember-me included; the user is told in the
    app and by email. Returns how many were live."""
    ended = end_other_sessions(user)
    audit.record("user.signed_out_everywhere", actor_id=actor_id, target=user, after={"sessions_ended": ended})
    notify(
        user.id,
        "signed_out_everywhere",
        "You were signed out everywhere",
        "Our staff signed your account out on every device, to keep it safe. Sign in again to carry on; "
        "if you didn't expect this, change your password after you sign in.",
        link=path_for("auth.login"),
        email=True,
    )
    db.session.commit()
    return ended


def reactivate(user: User, *, actor_id: uuid.UUID | None = None) -> None:
    user.is_active = True
    audit.record("user.reactivated", actor_id=actor_id, target=user)
    db.session.commit()


def create_admin(*, email: str, username: str, password: str) -> User:
    """The first (or another) admin, verified at once. Validation errors name the field."""
    return create_verified_user(email=email, username=username, password=password, role="admin")


def create_verified_user(*, email: str, username: str, password: str, role: str) -> User:
    """An account with a verified email and `role`, for operators (and the demo data)."""
    email, username = _normalized_email(email), usernames.normalize_username(username)
    for field, problem in (
        ("username", usernames.username_problem(username)),
        ("password", password_problem(password, username=username, email=email)),
    ):
        if problem:
            raise ValidationError({field: problem})
    if user_by_email(email) is not None:
        raise ValidationError({"email": "A user with that email already exists."})
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ValidationError({"username": "That username is taken."})
    chosen = role_named(role)
    if chosen is None:
        raise ValidationError({"role": f"There is no role named “{role}”."})
    now = utcnow()
    user = User(
        email=email,
        username=username,
        password_hash=hash_password(password),
        role=chosen,
        email_verified_at=now,
        password_changed_at=now,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.role_changed", target=user, before={"role": None}, after={"role": role})
    db.session.commit()
    usernames.remember_taken(username)
    return user
