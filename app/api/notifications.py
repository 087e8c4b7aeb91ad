"""/api/v1/notifications: your notifications, newest first, and marking them read."""

from __future__ import annotations

import uuid
from typing import Any

from app.api import pagination, schemas
from app.api.kit import ApiBlueprint, current_token
from app.models.notification import Notification
from app.notifications import services

blp = ApiBlueprint("api_notifications", __name__, url_prefix="/api/v1/notifications", description="Notifications.")


@blp.route("", methods=["GET"])
@blp.auth("read")
@blp.arguments(schemas.NotificationQuery, location="query")
@blp.response(200, schemas.NotificationPageOut)
def list_notifications(args: dict[str, Any]) -> dict[str, Any]:
    """Your notifications, newest first (`unread=true` for the unread ones); pages by `next_cursor`."""
    limit = args["limit"]
    items = services.newest_after(
        current_token().user_id,
        limit=limit + 1,
        before=pagination.decode_position(args["cursor"]),
        unread_only=args["unread"],
    )
    cursor = None
    if len(items) > limit:
        last = items[limit - 1]
        cursor = pagination.encode_position(last.created_at, last.id)
    return {"items": items[:limit], "next_cursor": cursor, "next": pagination.next_link(cursor)}


@blp.route("/<uuid:notification_id>/read", methods=["POST"])
@blp.auth("read")
@blp.errors(404)
@blp.response(200, schemas.NotificationOut)
def mark_read(notification_id: uuid.UUID) -> Notification:
    """Mark one of your notifications read (anyone else's is a 404)."""
    return services.mark_read(current_token().user_id, notification_id)


@blp.route("/read-all", methods=["POST"])
@blp.auth("read")
@blp.response(200, schemas.ReadAllOut)
def read_all() -> dict[str, int]:
    """Mark all your notifications read."""
    return {"marked_read": services.mark_all_read(current_token().user_id)}
