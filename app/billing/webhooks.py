"""Payment webhooks: verify, record once, apply.

The signature is checked over the raw body before anything is parsed. Each event
id is recorded once (INSERT … ON CONFLICT DO NOTHING): a redelivery is a no-op. An
event naming a transaction we don't know yet is kept as "pending" and applied by
reconciliation once the transaction exists. Applying locks the transaction row
(and, through settlement, its invoice rows); outcomes only move forward, so
events arriving out of order cannot undo each other.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.billing.gateway import signing
from app.billing.gateway.delivery import webhook_secrets
from app.billing.settlement import apply_outcome, lock_transaction
from app.billing.sql import insert
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Transaction
from app.models.checkout import WebhookEvent

log = logging.getLogger(__name__)

OUTCOMES = {
    "charge.succeeded": "succeeded",
    "charge.failed": "failed",
    "charge.refunded": "refunded",
    "refund.succeeded": "succeeded",
    "refund.failed": "failed",
}


# Our events are four levels deep. Far deeper ones would overflow the stack later, when stored.
MAX_DEPTH = 32


class BadWebhook(ValueError):
    pass


@dataclass
class Received:
    status: str  # processed, pending, ignored, duplicate
    note: str = ""


def _parse(body: bytes) -> dict[str, Any]:
    if b"\x00" in body or b"\\u0000" in body:
        raise BadWebhook("event contains NUL characters")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadWebhook("body is not JSON") from None
    except RecursionError:
        raise BadWebhook("body is nested too deeply") from None
    if not isinstance(event, dict):
        raise BadWebhook("event must be a JSON object")
    if _depth(event) > MAX_DEPTH:
        raise BadWebhook("body is nested too deeply")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not (
        isinstance(event.get("id"), str)
        and 0 < len(event["id"]) <= 100
        and isinstance(event.get("type"), str)
        and isinstance(obj, dict)
        and isinstance(obj.get("id"), str)
        and len(obj["id"]) <= 100
    ):
        raise BadWebhook("event must have an id, a type and data.object.id")
    return event


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (without recursion: it may be very deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def receive(body: bytes, header: str) -> Received:
    """Verify and apply one delivery. Raises BadWebhook (→ 400) for anything unsigned or malformed."""
    try:
        return _receive(body, header)
    except BadWebhook:
        db.session.rollback()
        raise


def _receive(body: bytes, header: str) -> Received:
    try:
        signing.verify(header, body, webhook_secrets(), tolerance=current_app.config["PAYMENT_WEBHOOK_TOLERANCE"])
    except signing.SignatureError as exc:
        raise BadWebhook(str(exc)) from None
    event = _parse(body)
    row = _record(event)
    if row is None:
        db.session.rollback()
        return Received("duplicate", "this event was already received")
    result = apply(row, utcnow())
    db.session.commit()
    return result


def _record(event: dict[str, Any]) -> WebhookEvent | None:
    created = event.get("created")
    inserted = db.session.execute(
        insert(WebhookEvent)
        .values(
            id=event["id"],
            type=event["type"][:60],
            gateway_reference=event["data"]["object"]["id"],
            payload=event,
            status="pending",
            note="",
            received_at=utcnow(),
            event_created_at=(
                datetime.fromtimestamp(created, UTC) if isinstance(created, int) and 0 < created < 2**33 else None
            ),
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(WebhookEvent.id)
    ).scalar_one_or_none()
    return db.session.get(WebhookEvent, inserted) if inserted else None


def apply(row: WebhookEvent, now: datetime) -> Received:
    outcome = OUTCOMES.get(row.type)
    if outcome is None:
        return _finish(row, "ignored", f"{row.type} events are not used", now)
    obj = row.payload["data"]["object"]
    tx = lock_transaction(Transaction.gateway_reference == row.gateway_reference)
    if tx is None and obj.get("idempotency_key"):
        # The charge's answer may not have reached us: the event still names our key.
        tx = lock_transaction(Transaction.idempotency_key == str(obj["idempotency_key"]))
        if tx is not None and tx.gateway_reference is None:
            tx.gateway_reference = row.gateway_reference
    if tx is None:
        row.note = "no transaction with this reference yet; applied when it appears"
        return Received("pending", row.note)
    code, message = obj.get("failure_code"), obj.get("failure_message")
    result = apply_outcome(
        tx, outcome, failure_code=str(code)[:40] if code else None, message=str(message) if message else None, now=now
    )
    note = {
        "applied": f"transaction {tx.id} is {outcome}",
        "unchanged": f"transaction {tx.id} was already {outcome}",
        "ignored": f"transaction {tx.id} is {tx.status}; a {outcome} event can't change that",
    }[result]
    return _finish(row, "processed" if result != "ignored" else "ignored", note, now)


def _finish(row: WebhookEvent, status: str, note: str, now: datetime) -> Received:
    row.status, row.note, row.processed_at = status, note[:300], now
    return Received(status, note)


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
