"""Notification jobs: one broadcast batch, and the daily retention sweep."""

import uuid

from app.notifications import broadcast, services


def deliver_announcement(announcement_id: str, user_ids: list[str]) -> int:
    """Create one batch (≤ 500 users) of an announcement's notifications and emails; idempotent."""
    return broadcast.deliver_batch(uuid.UUID(announcement_id), [uuid.UUID(u) for u in user_ids])


def purge_read_notifications() -> int:
    """Delete read notifications past NOTIFICATION_RETENTION_DAYS."""
    return services.purge_read()
