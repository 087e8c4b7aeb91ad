"""Write audit events: who did what, to what, from where (IP and request id)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user

from app.extensions import db
from app.models.audit import AuditEvent


def record(
    action: str,
    *,
    actor_id: uuid.UUID | None = None,
    target: Any = None,
    target_type: str | None = None,
    target_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits).

    `target` may be a model instance (its table name and id are used): any model, so typed Any.
    """
    if target is not None:
        target_type = target_type or target.__tablename__
        target_id = target_id or str(target.id)
    ip = request_id = None
    if has_request_context():
        ip = request.remote_addr
        request_id = g.get("request_id")
        if actor_id is None and current_user and current_user.is_authenticated:
            actor_id = current_user.id
    event = AuditEvent(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        ip=ip,
        request_id=request_id,
    )
    db.session.add(event)
    return event
