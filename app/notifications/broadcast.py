"""Announcements: one broadcast fans out to every recipient in jobs of BATCH_SIZE users.

`broadcast()` records the Announcement, snapshots the recipients' ids and
enqueues one outbox job per batch in the same transaction. Each batch job
inserts its notifications with ON CONFLICT DO NOTHING on (announcement_id,
user_id) and queues emails only for the rows it inserted, so a re-run batch
(a retry, a redelivery) adds nothing twice.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import lazyload, load_only

from app import audit, outbox
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.links import external_link
from app.mail.services import queue_email
from app.models.billing import Subscription
from app.models.catalog import Product
from app.models.notification import Announcement, Notification
from app.models.user import User
from app.notifications.services import safe_link

BATCH_SIZE = 500
# Subscribers who hear about their product: anyone not yet expired or cancelled.
LIVE_STATUSES = ("trial", "active", "past_due", "paused")
KIND = "announcement"
BATCH_JOB = "jobs.notifications.deliver_announcement"


def broadcast(
    title: str,
    body: str,
    link: str | None = None,
    *,
    product_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    email: bool = True,
) -> Announcement:
    """Announce to every active user, or to one product's live subscribers. Commits."""
    title, body, link = clean_message(title, body, link)
    if product_id is not None and db.session.get(Product, product_id) is None:
        raise NotFound("There is no such product.")
    announcement = Announcement(
        title=title,
        body=body,
        link=link,
        audience="product" if product_id else "all",
        product_id=product_id,
        created_by_id=actor_id,
        email=email,
    )
    db.session.add(announcement)
    db.session.flush()
    recipients = [str(user_id) for user_id in db.session.scalars(recipients_query(product_id))]
    batches = [recipients[i : i + BATCH_SIZE] for i in range(0, len(recipients), BATCH_SIZE)]
    for batch in batches:
        outbox.enqueue(BATCH_JOB, str(announcement.id), batch, queue="low")
    announcement.recipient_count = len(recipients)
    announcement.batch_count = len(batches)
    audit.record(
        "notifications.broadcast",
        actor_id=actor_id,
        target=announcement,
        after={
            "title": title,
            "audience": announcement.audience,
            "product_id": str(product_id or ""),
            "recipients": len(recipients),
            "email": email,
        },
    )
    db.session.commit()
    return announcement


def recipients_query(product_id: uuid.UUID | None = None) -> sa.Select[uuid.UUID]:
    """Ids of active users; with a product, only those with a live subscription to it."""
    query = sa.select(User.id).where(User.is_active.is_(True)).order_by(User.id)
    if product_id is not None:
        query = query.where(
            sa.exists().where(
                Subscription.user_id == User.id,
                Subscription.product_id == product_id,
                Subscription.status.in_(LIVE_STATUSES),
            )
        )
    return query


def deliver_batch(announcement_id: uuid.UUID, user_ids: list[uuid.UUID]) -> int:
    """Create this batch's notifications (and emails) once. Returns how many were new."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:  # deleted since: nothing to deliver
        return 0
    users = db.session.scalars(
        sa.select(User)
        .where(User.id.in_(user_ids), User.is_active.is_(True))
        # Only what the notification and the email need (the role is never read here).
        .options(load_only(User.id, User.email, User.username, User.first_name), lazyload(User.role))
    ).all()
    if not users:
        return 0
    rows = [
        {
            "id": uuid.uuid4(),
            "user_id": u.id,
            "kind": KIND,
            "title": announcement.title,
            "body": announcement.body,
            "link": announcement.link,
            "is_read": False,
            "created_at": announcement.created_at,
            "announcement_id": announcement.id,
        }
        for u in users
    ]
    insert = _insert_ignoring_duplicates().returning(Notification.user_id)
    created = set(db.session.scalars(insert, rows).all())
    if announcement.email:
        link = external_link(announcement.link)
        for u in users:
            if u.id in created:
                queue_email(
                    u.email,
                    KIND,
                    {"name": u.display_name, "title": announcement.title, "body": announcement.body, "link": link},
                    user_id=u.id,
                )
    db.session.commit()
    return len(created)


def _insert_ignoring_duplicates() -> sa.Insert:
    keys = ["announcement_id", "user_id"]
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Notification).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(Notification).on_conflict_do_nothing(index_elements=keys)


def clean_message(title: str, body: str, link: str | None) -> tuple[str, str, str | None]:
    title, body, link = (title or "").strip(), (body or "").strip(), (link or "").strip() or None
    if not title:
        raise ValidationError({"title": "Give the announcement a title."})
    if len(title) > 200:
        raise ValidationError({"title": "Keep the title to 200 characters or fewer."})
    if any(ord(c) < 32 for c in title):
        raise ValidationError({"title": "The title must be a single line of text."})
    if not body:
        raise ValidationError({"body": "Write the announcement's text."})
    if len(body) > 5000:
        raise ValidationError({"body": "Keep the text to 5,000 characters or fewer."})
    if any(ord(c) < 32 and c not in "\n\r\t" for c in body):
        raise ValidationError({"body": "The text contains characters that can't be sent."})
    if link is not None and (len(link) > 500 or safe_link(link) is None):
        raise ValidationError({"link": "The link must be a path on this site (/products/) or an http(s) address."})
    return title, body.replace("\r\n", "\n"), link
