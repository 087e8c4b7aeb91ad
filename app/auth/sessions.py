"""Server-side sessions: one `UserSession` row per signed-in browser.

Flask-Login stores the UserSession id (User.get_id), so ending the row signs
that browser out everywhere, remember-me cookie included. Every request checks
the row's age: SESSION_ABSOLUTE_DAYS after sign-in (30 at most when remembered),
or SESSION_IDLE_MINUTES after the last request of a session that isn't
remembered, the row is ended and the browser sent to the login page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from user_agents import parse as parse_user_agent

from app.auth import alerts, devices, stepup
from app.extensions import db
from app.models.base import utcnow
from app.models.user import User, UserSession

V = TypeVar("V", bound=Callable[..., Any])

MAX_SESSIONS = 5
# last_seen_at is written at most this often, not on every request (the idle timeout is in hours).
LAST_SEEN_EVERY = timedelta(minutes=1)
REMEMBER_AT_MOST = timedelta(days=30)


def describe_device(user_agent: str) -> str:
    if not user_agent:
        return "Unknown device"
    ua = parse_user_agent(user_agent)
    browser = ua.browser.family if ua.browser.family != "Other" else "Browser"
    os_name = ua.os.family if ua.os.family != "Other" else "unknown OS"
    return f"{browser} on {os_name}"[:120]


def start_session(user: User, *, remember: bool = False) -> UserSession:
    """Sign `user` in on this browser: a new session id, at most MAX_SESSIONS live (oldest ends)."""
    now = utcnow()
    agent = (request.user_agent.string or "")[:400]
    record = UserSession(
        user_id=user.id,
        ip=request.remote_addr,
        user_agent=agent,
        device=describe_device(agent),
        remember=remember,
        created_at=now,
        last_seen_at=now,
    )
    _add_within_cap(record, now)
    if user.last_login_at is not None and alerts.is_new_device(user):  # not the first sign-in after signing up
        alerts.queue_alert(record)
    user.last_login_at = now
    # Rotate: nothing from the anonymous session survives but what we carry over.
    carry = {k: session[k] for k in ("cart",) if k in session}
    session.clear()
    session.update(carry)
    stepup.mark_recent()
    user.current_session_id = record.id
    login_user(user, remember=remember, duration=lifetime(remember=True))
    devices.trust_this_browser(user.id)
    return record


def _add_within_cap(record: UserSession, now: datetime) -> None:
    """Add the new session row; the user's oldest live ones past MAX_SESSIONS end."""
    db.session.add(record)
    db.session.flush()
    live = db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == record.user_id, is_live(now))
        .order_by(UserSession.created_at.desc(), UserSession.id)
        .offset(MAX_SESSIONS)
    ).all()
    for old in live:
        old.revoked_at = now


def start_api_session(user: User, *, client_name: str) -> UserSession:
    """An API sign-in's session row (app/auth/tokens.py): listed with the browsers, device = the client's name.

    No cookie is involved. It lasts like a remembered browser (no idle timeout: the client refreshes
    its tokens), counts towards MAX_SESSIONS, and a client name the account has not signed in with
    before gets the new sign-in alert.
    """
    now = utcnow()
    agent = (request.user_agent.string or "")[:400]
    device = (client_name.strip() or describe_device(agent))[:120]
    seen_before = db.session.scalar(
        sa.select(sa.exists().where(UserSession.user_id == user.id, UserSession.device == device))
    )
    record = UserSession(
        user_id=user.id,
        ip=request.remote_addr,
        user_agent=agent,
        device=device,
        remember=True,
        created_at=now,
        last_seen_at=now,
    )
    _add_within_cap(record, now)
    if user.last_login_at is not None and not seen_before:
        alerts.queue_alert(record)
    user.last_login_at = now
    return record


def is_live(now: datetime) -> sa.ColumnElement[bool]:
    """SQL: the session still signs someone in (not ended, within its lifetime and idle timeout)."""
    return sa.and_(UserSession.revoked_at.is_(None), _within_lifetime(now))


def _within_lifetime(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(UserSession.remember.is_(True), UserSession.created_at >= now - lifetime(remember=True)),
        sa.and_(
            UserSession.remember.is_(False),
            UserSession.created_at >= now - lifetime(remember=False),
            UserSession.last_seen_at >= now - idle_timeout(),
        ),
    )


def lifetime(*, remember: bool) -> timedelta:
    days = timedelta(days=current_app.config["SESSION_ABSOLUTE_DAYS"])
    return min(days, REMEMBER_AT_MOST) if remember else days


def idle_timeout() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def expiry_message(record: UserSession, now: datetime) -> str | None:
    """Why `record` no longer signs anyone in (a sentence for the login page), or None while it does."""
    if now - record.created_at > lifetime(remember=record.remember):
        return f"For your security, a sign-in lasts {_span(lifetime(remember=record.remember))}. Please sign in again."
    if not record.remember and now - record.last_seen_at > idle_timeout():
        return f"You were signed out after {_span(idle_timeout())} without activity. Please sign in again."
    return None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    for unit, size in (("day", 1440), ("hour", 60)):
        if minutes >= size and minutes % size == 0:
            minutes, name = minutes // size, unit
            break
    else:
        name = "minute"
    return f"{minutes} {name}{'s' if minutes != 1 else ''}"


def sign_out_browser() -> None:
    session.clear()
    logout_user()  # after clear(): it leaves the note that deletes the remember-me cookie


def end_session(user: User | None = None) -> None:
    """Sign this browser out (the row is revoked, the cookie cleared)."""
    if user is not None and user.current_session_id:
        db.session.execute(
            sa.update(UserSession).where(UserSession.id == user.current_session_id).values(revoked_at=utcnow())
        )
    sign_out_browser()


def end_other_sessions(user: User, *, keep: uuid.UUID | None = None) -> int:
    """End the user's sessions (but `keep`). Returns how many were live; expired rows end too, uncounted."""
    now = utcnow()
    query = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    was_live = db.session.scalars(query.values(revoked_at=now).returning(_within_lifetime(now))).all()
    return sum(1 for live in was_live if live)


def load_user(session_id: str) -> User | None:
    try:
        sid = uuid.UUID(session_id)
    except (ValueError, TypeError):
        return None
    row = db.session.execute(
        sa.select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == sid, UserSession.revoked_at.is_(None), User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    record, user = row
    now = utcnow()
    expired = expiry_message(record, now)
    if expired:
        record.revoked_at = now
        db.session.commit()
        g.session_expired = expired
        return None
    user.current_session_id = record.id
    if now - record.last_seen_at > LAST_SEEN_EVERY and not _is_passive():
        record.last_seen_at = now
        record.ip = request.remote_addr
        db.session.commit()
    return user


def passive(view: V) -> V:
    """Mark a view the page calls on its own (the badge's poll): it does not keep a session alive."""
    view.passive_request = True  # type: ignore[attr-defined]  # a mark on the function object, read by _is_passive
    return view


def _is_passive() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "passive_request", False)


def purge_sessions() -> int:
    """Delete revoked sessions and those idle past SESSION_IDLE_DAYS. Returns how many."""
    idle_since = utcnow() - timedelta(days=current_app.config["SESSION_IDLE_DAYS"])
    result = db.session.execute(
        sa.delete(UserSession).where(sa.or_(UserSession.revoked_at.is_not(None), UserSession.last_seen_at < idle_since))
    )
    db.session.commit()
    return cast("sa.CursorResult[Any]", result).rowcount
