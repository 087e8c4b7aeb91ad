"""Whose clock a time is shown on: the viewer's for a page, the recipient's for an email or a notice.

The viewer's zone is the profile's (users.timezone), else the `tz` cookie static/js/timezone.js
sets from the browser (so pages before sign-in show local time too), else UTC. app/dates.py
formats in the zone set here; without JavaScript nothing is detected and times say "UTC".
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, g, request
from flask_login import current_user

from app.dates import shown_in, zone_named
from app.extensions import db
from app.models.user import User

COOKIE = "tz"


def browser_zone_name() -> str | None:
    """The zone the browser said it is in (the `tz` cookie), if it is one we know."""
    name = request.cookies.get(COOKIE)
    return name if zone_named(name) else None


def viewer_zone() -> ZoneInfo | None:
    """The zone the person looking at this page lives in: their profile's, else their browser's."""
    if current_user.is_authenticated:
        zone = zone_named(current_user.timezone)
        if zone is not None:
            return zone
    return zone_named(request.cookies.get(COOKIE))


def zone_of(user_id: uuid.UUID | str | None) -> ZoneInfo | None:
    """A recipient's zone, from their profile (None: not set, or no such user)."""
    if not user_id:
        return None
    return zone_named(db.session.scalar(sa.select(User.timezone).where(User.id == uuid.UUID(str(user_id)))))


def _show_viewer_zone() -> None:
    if request.endpoint == "static":
        return
    stack = ExitStack()
    stack.enter_context(shown_in(viewer_zone()))
    g.viewer_zone_scope = stack


def _end_viewer_zone(_exc: BaseException | None) -> None:
    stack = g.pop("viewer_zone_scope", None)
    if stack is not None:
        stack.close()


def init_app(app: Flask) -> None:
    """After the session loader's hook (app/auth/login_hooks.py): the signed-in user is known by then."""
    app.before_request(_show_viewer_zone)
    app.teardown_request(_end_viewer_zone)
