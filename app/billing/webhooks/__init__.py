"""Payment webhooks: verify, record once, apply — the same machinery for every gateway that sends them.

Each sender is a module here with two functions: `verify(body, header)` checks the signature
over the raw body before anything is parsed (the sandbox's scheme in `sandbox`, Stripe's
`construct_event` in `stripe`), and `apply(row, now)` reads a stored event the way its sender
means it. Each event id is recorded once (INSERT … ON CONFLICT DO NOTHING): a redelivery is a
no-op. An event naming a transaction we don't know yet is kept as "pending" and applied by
reconciliation (`apply_waiting`) once the transaction exists. Applying locks the transaction row
(and, through settlement, its invoice rows); outcomes only move forward, so events arriving out of
order cannot undo each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.billing.sql import insert
from app.billing.webhooks import sandbox, stripe
from app.billing.webhooks.events import BadWebhook, Received, instant, parse
from app.extensions import db
from app.models.base import utcnow
from app.models.checkout import WebhookEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sender:
    verify: Callable[[bytes, str], None]  # raises BadWebhook
    apply: Callable[[WebhookEvent, datetime], Received]


SENDERS = {"sandbox": Sender(sandbox.verify, sandbox.apply), "stripe": Sender(stripe.verify, stripe.apply)}

__all__ = ["BadWebhook", "Received", "apply", "apply_waiting", "receive"]


def receive(body: bytes, header: str, *, gateway: str = "sandbox") -> Received:
    """Verify and apply one delivery from `gateway`. Raises BadWebhook (→ 400) for anything unsigned or malformed."""
    try:
        return _receive(body, header, gateway)
    except BadWebhook:
        db.session.rollback()
        raise


def _receive(body: bytes, header: str, gateway: str) -> Received:
    SENDERS[gateway].verify(body, header)
    event = parse(body)
    row = _record(event, gateway)
    if row is None:
        db.session.rollback()
        return Received("duplicate", "this event was already received")
    result = apply(row, utcnow())
    db.session.commit()
    return result


def _record(event: dict[str, Any], gateway: str) -> WebhookEvent | None:
    inserted = db.session.execute(
        insert(WebhookEvent)
        .values(
            id=event["id"],
            gateway=gateway,
            type=event["type"][:60],
            gateway_reference=event["data"]["object"]["id"],
            payload=event,
            status="pending",
            note="",
            received_at=utcnow(),
            event_created_at=instant(event.get("created")),
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(WebhookEvent.id)
    ).scalar_one_or_none()
    return db.session.get(WebhookEvent, inserted) if inserted else None


def apply(row: WebhookEvent, now: datetime) -> Received:
    """Apply a stored event as its sender means it (the caller commits)."""
    sender = SENDERS.get(row.gateway)
    if sender is None:
        row.status, row.note, row.processed_at = "ignored", f"no gateway named {row.gateway}"[:300], now
        return Received("ignored", row.note)
    return sender.apply(row, now)


def apply_waiting(now: datetime, size: int = 200) -> int:
    """Apply stored events whose transaction has appeared since. Returns how many were applied."""
    applied = 0
    rows = list(
        db.session.scalars(
            sa.select(WebhookEvent)
            .where(WebhookEvent.status == "pending")
            .order_by(WebhookEvent.received_at)
            .limit(size)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        if apply(row, now).status != "pending":
            applied += 1
    db.session.commit()
    return applied
