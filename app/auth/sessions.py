"""Server-side sessions: one `UserSession` row per signed-in browser.

Flask-Login stores the UserSession id (User.get_id), so ending the row signs
that browser out everywhere, remember-me cookie included.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app, request, session
from flask_login import login_user, logout_user
from user_agents import parse as parse_user_agent

from app.auth import devices
from app.extensions import db, login_manager
from app.models.base import utcnow
from app.models.user import User, UserSession

MAX_SESSIONS = 5
LAST_SEEN_EVERY = timedelta(minutes=1)


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
    record = UserSession(user_id=user.id, ip=request.remote_addr, user_agent=agent,
                         device=describe_device(agent), remember=remember, created_at=now, last_seen_at=now)
    db.session.add(record)
    db.session.flush()
    live = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.created_at.desc(), UserSession.id).offset(MAX_SESSIONS)
    ).all()
    for old in live:
        old.revoked_at = now
    user.last_login_at = now
    # Rotate: nothing from the anonymous session survives but what we carry over.
    carry = {k: session[k] for k in ("cart",) if k in session}
    session.clear()
    session.update(carry)
    user.current_session_id = record.id
    login_user(user, remember=remember)
    devices.trust_this_browser(user.id)
    return record


def end_session(user: User | None = None) -> None:
    """Sign this browser out (the row is revoked, the cookie cleared)."""
    if user is not None and user.current_session_id:
        db.session.execute(
            sa.update(UserSession).where(UserSession.id == user.current_session_id)
            .values(revoked_at=utcnow())
        )
    logout_user()
    session.clear()


def end_other_sessions(user: User, *, keep: uuid.UUID | None = None) -> int:
    query = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return db.session.execute(query.values(revoked_at=utcnow())).rowcount


def load_user(session_id: str) -> User | None:
    try:
        sid = uuid.UUID(session_id)
    except (ValueError, TypeError):
        return None
    row = db.session.execute(
        sa.select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.id == sid, UserSession.revoked_at.is_(None), User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    record, user = row
    user.current_session_id = record.id
    now = utcnow()
    if now - record.last_seen_at > LAST_SEEN_EVERY:
        record.last_seen_at = now
        record.ip = request.remote_addr
        db.session.commit()
    return user


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.session_protection = "basic"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"


def purge_sessions() -> int:
    """Delete revoked sessions and those idle past SESSION_IDLE_DAYS. Returns how many."""
    idle_since = utcnow() - timedelta(days=current_app.config["SESSION_IDLE_DAYS"])
    result = db.session.execute(
        sa.delete(UserSession).where(sa.or_(UserSession.revoked_at.is_not(None), UserSession.last_seen_at < idle_since))
    )
    db.session.commit()
    return result.rowcount
