"""Notifications: one call creates the in-app row and, when asked, queues the email."""
from __future__ import annotations

import uuid

from app.extensions import db
from app.mail.services import queue_email
from app.models.notification import Notification
from app.models.user import User


def notify(user_id: uuid.UUID, kind: str, title: str, body: str = "", link: str | None = None, *,
           email: bool = False, email_context: dict | None = None) -> Notification:
    """Create a notification for `user_id` (caller commits). With email=True, the
    `kind` email template is queued through the outbox with `email_context`
    (plus `name`, `title`, `body`, `link`) as its whole payload."""
    notification = Notification(user_id=user_id, kind=kind, title=title, body=body, link=link)
    db.session.add(notification)
    if email:
        user = db.session.get(User, user_id)
        context = {"name": user.display_name, "title": title, "body": body, "link": link or "",
                   **(email_context or {})}
        queue_email(user.email, kind, context)
    return notification
