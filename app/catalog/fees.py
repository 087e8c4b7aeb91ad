"""The platform fee: one setting, read through a Redis cache (1 h), cleared on change."""

from __future__ import annotations

import contextlib
import logging
import uuid
from decimal import Decimal, InvalidOperation

import redis
import sqlalchemy as sa

from app import audit
from app.errors import ValidationError
from app.extensions import db
from app.models.catalog import PlatformFee, PlatformFeeChange
from app.money import percent_of
from app.redis_client import get_redis

log = logging.getLogger(__name__)

CACHE_KEY = "platform_fee:percent"
CACHE_SECONDS = 3600


def seed_fee_row() -> None:
    if db.session.get(PlatformFee, 1) is None:
        db.session.add(PlatformFee(id=1, percent=Decimal("0")))
        db.session.flush()


def current_percent() -> Decimal:
    """The fee percentage; from the cache, else the database (also when Redis is down)."""
    client = get_redis()
    cache_up = True
    try:
        cached = client.get(CACHE_KEY)
        if cached is not None:
            return Decimal(cached.decode() if isinstance(cached, bytes) else cached)
    except redis.RedisError as exc:
        log.warning("platform fee cache unavailable, reading the database (%s)", exc)
        cache_up = False
    percent = db.session.scalar(sa.select(PlatformFee.percent).where(PlatformFee.id == 1))
    percent = Decimal(percent) if percent is not None else Decimal("0")
    if cache_up:
        with contextlib.suppress(redis.RedisError):
            client.set(CACHE_KEY, str(percent), ex=CACHE_SECONDS)
    return percent


def fee_for(amount_minor: int, percent: Decimal | None = None) -> int:
    """The fee on an amount in minor units, ROUND_HALF_UP."""
    return percent_of(amount_minor, current_percent() if percent is None else percent)


def price_with_fee(amount_minor: int, percent: Decimal | None = None) -> int:
    return int(amount_minor) + fee_for(amount_minor, percent)


def parse_percent(raw: object) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"percent": "Enter a percentage such as 2.5"}) from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ValidationError({"percent": "The fee must be between 0 and 100 percent"})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError({"percent": "Use at most two decimal places"})
    return value.quantize(Decimal("0.01"))


def set_fee(raw_percent: Decimal | str, *, actor_id: uuid.UUID | None, reason: str) -> PlatformFeeChange:
    """Change the fee (row locked), keep the history, audit it, then clear the cache."""
    percent = parse_percent(raw_percent)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the fee changes"})
    if len(reason) > 500:
        raise ValidationError({"reason": "Keep the reason under 500 characters"})
    row = db.session.scalar(sa.select(PlatformFee).where(PlatformFee.id == 1).with_for_update())
    if row is None:
        row = PlatformFee(id=1, percent=Decimal("0"))
        db.session.add(row)
    old = Decimal(row.percent)
    change = PlatformFeeChange(old_percent=old, new_percent=percent, reason=reason, changed_by_id=actor_id)
    db.session.add(change)
    row.percent = percent
    row.updated_by_id = actor_id
    audit.record(
        "fee.changed",
        actor_id=actor_id,
        target_type="platform_fee",
        target_id="1",
        before={"percent": str(old)},
        after={"percent": str(percent), "reason": reason},
    )
    db.session.commit()
    clear_cache()
    return change


def clear_cache() -> None:
    try:
        get_redis().delete(CACHE_KEY)
    except redis.RedisError as exc:
        # The cached value expires within the hour; say so loudly.
        log.error("could not clear the platform fee cache (%s); stale for up to %ss", exc, CACHE_SECONDS)
