"""What every sender's events share: the envelope's shape, finding our transaction, settling it, the verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.billing.settlement import apply_outcome, lock_transaction
from app.models.billing import Transaction
from app.models.checkout import WebhookEvent

# Our events are four levels deep, Stripe's about six. Far deeper ones would overflow the stack later, when stored.
MAX_DEPTH = 32


class BadWebhook(ValueError):
    pass


@dataclass
class Received:
    status: str  # processed, pending, ignored, duplicate
    note: str = ""


def parse(body: bytes) -> dict[str, Any]:
    """The event as a dict, once its signature is verified: an id, a type and a data.object with an id."""
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
    if depth(event) > MAX_DEPTH:
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


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (without recursion: it may be very deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def text(value: Any, limit: int) -> str | None:
    """A string field from an event, cut to fit its column; None when absent or not a string."""
    return value[:limit] if isinstance(value, str) and value else None


def instant(value: Any) -> datetime | None:
    """A Unix timestamp from an event as a UTC datetime; None when absent or absurd."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**33
    return datetime.fromtimestamp(value, UTC) if ok else None


def find_transaction(
    reference: str | None, idempotency_key: str | None, *, gateway: str | None = None
) -> Transaction | None:
    """Our transaction, locked: by the gateway's reference, else by the idempotency key we sent with it
    (only among `gateway`'s transactions when given).

    Found by the key, it learns the reference (the gateway's answer may never have reached us).
    """
    of_gateway = Transaction.gateway == gateway if gateway else sa.true()
    tx = lock_transaction(sa.and_(Transaction.gateway_reference == reference, of_gateway)) if reference else None
    if tx is None and idempotency_key:
        tx = lock_transaction(sa.and_(Transaction.idempotency_key == idempotency_key, of_gateway))
        if tx is not None and tx.gateway_reference is None and reference:
            tx.gateway_reference = reference
    return tx


def settle(
    tx: Transaction, outcome: str, now: datetime, *, failure_code: str | None = None, message: str | None = None
) -> tuple[str, str]:
    """Apply `outcome` to a locked transaction: (the row's status, a note saying what happened)."""
    result = apply_outcome(tx, outcome, failure_code=failure_code, message=message, now=now)
    note = {
        "applied": f"transaction {tx.id} is {outcome}",
        "unchanged": f"transaction {tx.id} was already {outcome}",
        "ignored": f"transaction {tx.id} is {tx.status}; a {outcome} event can't change that",
    }[result]
    return ("processed" if result != "ignored" else "ignored"), note


def waiting(row: WebhookEvent, note: str) -> Received:
    """Keep the event for later: reconciliation applies it once its transaction exists."""
    row.status, row.note = "pending", note[:300]
    return Received("pending", row.note)


def finish(row: WebhookEvent, status: str, note: str, now: datetime) -> Received:
    row.status, row.note, row.processed_at = status, note[:300], now
    return Received(status, row.note)
