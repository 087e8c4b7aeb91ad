"""Opaque cursors: a signed value the API hands out as `next_cursor` and reads back (422 if tampered with)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from app.errors import ValidationError

BAD_CURSOR = "That cursor isn't one this API gave out. Start again without it."


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="api-cursor")


def encode(value: Any) -> str:
    return str(_serializer().dumps(value))


def decode(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        return _serializer().loads(cursor)
    except BadSignature:
        raise ValidationError({"cursor": BAD_CURSOR}) from None


def encode_position(when: datetime | None, ident: uuid.UUID) -> str:
    """A keyset cursor: the (timestamp, id) of the last row handed out."""
    return encode([when.isoformat() if when else "", str(ident)])


def decode_position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (timestamp, id) a keyset cursor names; None without one; 422 for anything this API didn't give out."""
    value = decode(cursor)
    if value is None:
        return None
    try:
        when, ident = value
        return datetime.fromisoformat(when), uuid.UUID(ident)
    except (TypeError, ValueError):
        raise ValidationError({"cursor": BAD_CURSOR}) from None


def next_link(cursor: str | None) -> str | None:
    """This request's URL with `cursor` in place of its own (a path: it follows the client's origin)."""
    if cursor is None:
        return None
    values: dict[str, Any] = {**(request.view_args or {}), **request.args, "cursor": cursor}
    return url_for(str(request.endpoint), **values)
