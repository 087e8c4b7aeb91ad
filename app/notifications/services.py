"""Notifications: one call creates the in-app row and, when asked, queues the email.

Everything a user does with their notifications goes through here, always
scoped by the owner's id: another user's notification is simply not found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, g, has_request_context

from app.errors import NotFound
from app.extensions import db
from app.links import external_link
from app.mail.services import queue_email
from app.models.base import utcnow
from app.models.notification import Notification
from app.models.user import User

PER_PAGE = 20
PURGE_CHUNK = 5000
# The HTMX event a response carries when it changed someone's notifications.
CHANGED_EVENT = "notifications-changed"


def notify(
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    *,
    email: bool = False,
    email_context: dict[str, Any] | None = None,
) -> Notification:
    """Create a notification for `user_id` (caller commits). With email=True, the
    `kind` email template is queued through the outbox with `email_context`
    (plus `name`, `title`, `body`, `link`) as its whole payload."""
    notification = Notification(user_id=user_id, kind=kind, title=title, body=body, link=link)
    db.session.add(notification)
    if email:
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound("There is no such user to notify.")
        context = {
            "name": user.display_name,
            "title": title,
            "body": body,
            "link": external_link(link),
            **(email_context or {}),
        }
        queue_email(user.email, kind, context, user_id=user.id)
    mark_changed()
    return notification


def mark_changed() -> None:
    """Flag this request: its response tells the page to refresh the badge (see routes)."""
    if has_request_context():
        g.notifications_changed = True


def safe_link(link: str | None) -> str | None:
    """`link` if it may go in an href or a redirect (a local path or an http(s) URL), else None."""
    if not link or "\\" in link or any(ord(c) < 32 for c in link):
        return None
    if link.startswith("/") and not link.startswith("//"):
        return link
    parts = urlsplit(link)
    return link if parts.scheme in ("http", "https") and parts.netloc else None


def unread_filter(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return sa.and_(Notification.user_id == user_id, Notification.is_read == sa.false())


def unread_count(user_id: uuid.UUID) -> int:
    """One COUNT answered from the (user_id, is_read, created_at) index."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(unread_filter(user_id))) or 0


@dataclass(frozen=True)
class Page:
    items: list[Notification]
    page: int
    pages: int
    total: int
    unread: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_for(user_id: uuid.UUID, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """The user's notifications, newest first; a page past the end shows the last one."""
    total, unread = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Notification.is_read == sa.false())).where(
            Notification.user_id == user_id
        )
    ).one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), page, pages, total, unread)


def newest_after(
    user_id: uuid.UUID, *, limit: int, before: tuple[datetime, uuid.UUID] | None = None, unread_only: bool = False
) -> list[Notification]:
    """Up to `limit` of the user's notifications, newest first, older than `before` (created_at, id): keyset pages."""
    query = sa.select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.is_read == sa.false())
    if before is not None:
        query = query.where(sa.tuple_(Notification.created_at, Notification.id) < sa.tuple_(*before))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def get_own(user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    """The user's own notification; anyone else's does not exist for them (404, not 403)."""
    notification = db.session.scalar(
        sa.select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
    if notification is None:
        raise NotFound("We couldn't find that notification. It may have been removed.")
    return notification


def mark_read(user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    notification = get_own(user_id, notification_id)
    if not notification.is_read:
        notification.is_read = True
        db.session.commit()
        mark_changed()
    return notification


def mark_all_read(user_id: uuid.UUID) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    changed = _rowcount(
        db.session.execute(
            sa.update(Notification)
            .where(unread_filter(user_id))
            .values(is_read=True)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    if changed:
        mark_changed()
    return changed


def purge_read(*, now: datetime | None = None, days: int | None = None, chunk: int = PURGE_CHUNK) -> int:
    """Delete read notifications older than NOTIFICATION_RETENTION_DAYS, a chunk per
    transaction so a large backlog never holds long locks. Unread ones stay."""
    days = current_app.config["NOTIFICATION_RETENTION_DAYS"] if days is None else days
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = (
            sa.select(Notification.id)
            .where(Notification.is_read == sa.true(), Notification.created_at < cutoff)
            .limit(chunk)
            .scalar_subquery()
        )
        count = _rowcount(
            db.session.execute(
                sa.delete(Notification).where(Notification.id.in_(ids)).execution_options(synchronize_session=False)
            )
        )
        db.session.commit()
        deleted += count
        if count < chunk:
            return deleted


def _rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (its result is a CursorResult; Session.execute is typed more broadly)."""
    return cast(sa.CursorResult[Any], result).rowcount
