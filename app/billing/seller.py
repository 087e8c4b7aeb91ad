"""Who issues the invoices: name, address and tax id, printed in every invoice's seller block.

Defaults come from config (SELLER_NAME, SELLER_ADDRESS, SELLER_TAX_ID); once an admin saves them
the database row wins. Read through a Redis cache (1 h) like the platform fee, cleared on change.
An invoice copies them when it is numbered (Invoice.seller), so a later change never rewrites it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app

from app import audit
from app.errors import ValidationError
from app.extensions import db
from app.models.billing import SellerSettings
from app.redis_client import get_redis

log = logging.getLogger(__name__)

CACHE_KEY = "seller:details"
CACHE_SECONDS = 3600
MAX_NAME, MAX_ADDRESS, MAX_TAX_ID, MAX_ADDRESS_LINES = 200, 1000, 60, 8


@dataclass(frozen=True)
class SellerDetails:
    name: str
    address: str = ""  # lines separated by "\n"
    tax_id: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SellerDetails:
        return cls(str(data.get("name", "")), str(data.get("address", "")), str(data.get("tax_id", "")))


def _from_config() -> SellerDetails:
    config = current_app.config
    address = (config.get("SELLER_ADDRESS") or "").replace("\\n", "\n")
    return SellerDetails(config.get("SELLER_NAME") or config["SITE_NAME"], address, config.get("SELLER_TAX_ID") or "")


def _from_database() -> SellerDetails:
    row = db.session.get(SellerSettings, 1)
    return SellerDetails(row.name, row.address, row.tax_id) if row else _from_config()


def current() -> SellerDetails:
    """The seller details now; from the cache, else the database or config (also when Redis is down)."""
    client = get_redis()
    try:
        cached = client.get(CACHE_KEY)
        if cached is not None:
            return SellerDetails.from_dict(json.loads(cached))
    except (redis.RedisError, ValueError) as exc:
        log.warning("seller details cache unavailable, reading the database (%s)", exc)
        return _from_database()
    details = _from_database()
    with contextlib.suppress(redis.RedisError):
        client.set(CACHE_KEY, json.dumps(details.as_dict()), ex=CACHE_SECONDS)
    return details


def _problem(value: str, limit: int, *, missing: str | None = None, lines: bool = False) -> str | None:
    """What is wrong with one field, or None. Control characters (NUL …) never reach the database."""
    if any(unicodedata.category(ch)[0] == "C" for ch in (value.replace("\n", "") if lines else value)):
        return "Invisible or control characters can't be used here"
    if missing and not value:
        return missing
    if lines and value.count("\n") >= MAX_ADDRESS_LINES:
        return f"Keep the address to {MAX_ADDRESS_LINES} lines"
    if len(value) > limit:
        return f"Use at most {limit} characters"
    return None


def clean(details: SellerDetails) -> SellerDetails:
    """Trimmed details, or a ValidationError naming each field that is wrong."""
    name = details.name.strip()
    lines = [line.strip() for line in details.address.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    address = "\n".join(line for line in lines if line)
    tax_id = details.tax_id.strip()
    problems = {
        "name": _problem(name, MAX_NAME, missing="Enter the name invoices are issued in"),
        "address": _problem(address, MAX_ADDRESS, missing="Enter the address printed on invoices", lines=True),
        "tax_id": _problem(tax_id, MAX_TAX_ID),
    }
    errors = {key: message for key, message in problems.items() if message}
    if errors:
        raise ValidationError(errors)
    return SellerDetails(name, address, tax_id)


def set_details(details: SellerDetails, *, actor_id: uuid.UUID | None) -> SellerDetails:
    """Save the seller details (row locked), audit the change, then clear the cache."""
    new = clean(details)
    row = db.session.scalar(sa.select(SellerSettings).where(SellerSettings.id == 1).with_for_update())
    old = SellerDetails(row.name, row.address, row.tax_id) if row else _from_config()
    if row is None:
        row = SellerSettings(id=1, name=new.name)
        db.session.add(row)
    row.name, row.address, row.tax_id = new.name, new.address, new.tax_id
    row.updated_by_id = actor_id
    audit.record(
        "seller.changed",
        actor_id=actor_id,
        target_type="seller_settings",
        target_id="1",
        before=old.as_dict(),
        after=new.as_dict(),
    )
    db.session.commit()
    clear_cache()
    return new


def clear_cache() -> None:
    try:
        get_redis().delete(CACHE_KEY)
    except redis.RedisError as exc:
        log.error("could not clear the seller details cache (%s); stale for up to %ss", exc, CACHE_SECONDS)
