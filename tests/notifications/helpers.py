"""Notifications in bulk and counted, and users by the thousand, for the notification tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models.base import utcnow
from app.models.notification import Notification
from app.models.user import User
from app.rbac import role_named
from tests.factories import NotificationFactory

HTMX = {"HX-Request": "true"}


def add_notifications(
    user_id,
    count: int,
    *,
    read: bool = False,
    age: timedelta = timedelta(0),
    title: str = "Update {n}",
    link: str | None = None,
    kind: str = "announcement",
) -> list:
    """`count` notifications, the n-th one n minutes older than `age` (so n=0 is newest)."""
    now = utcnow() - age
    rows = [
        NotificationFactory.build(
            user_id=user_id,
            kind=kind,
            title=title.format(n=n),
            body=f"Body {n}",
            link=link,
            is_read=read,
            created_at=now - timedelta(minutes=n),
        )
        for n in range(count)
    ]
    db.session.add_all(rows)  # one commit for the lot (a page of 120 would otherwise be 120 commits)
    db.session.commit()
    return [row.id for row in rows]


def bulk_users(count: int, *, prefix: str = "bulk", active: bool = True) -> list[uuid.UUID]:
    """Insert users in one statement (make_user hashes a password; thousands would take minutes)."""
    role_id = role_named("customer").id
    rows = [
        {
            "id": uuid.uuid4(),
            "email": f"{prefix}{n}@example.test",
            "username": f"{prefix}{n}",
            "first_name": "",
            "last_name": "",
            "role_id": role_id,
            "is_active": active,
            "email_verified_at": utcnow(),
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        for n in range(count)
    ]
    db.session.execute(sa.insert(User), rows)
    db.session.commit()
    return [row["id"] for row in rows]


def count_notifications(**filters) -> int:
    query = sa.select(sa.func.count()).select_from(Notification)
    for name, value in filters.items():
        query = query.where(getattr(Notification, name) == value)
    return db.session.scalar(query)
