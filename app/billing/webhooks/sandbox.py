"""The sandbox's events (POST /payment/webhook): signed by app/billing/gateway/signing.py, one charge or refund each."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from app.billing.gateway import signing
from app.billing.gateway.delivery import webhook_secrets
from app.billing.webhooks.events import BadWebhook, Received, find_transaction, finish, settle, waiting
from app.models.checkout import WebhookEvent

OUTCOMES = {
    "charge.succeeded": "succeeded",
    "charge.failed": "failed",
    "charge.refunded": "refunded",
    "refund.succeeded": "succeeded",
    "refund.failed": "failed",
}


def verify(body: bytes, header: str) -> None:
    try:
        signing.verify(header, body, webhook_secrets(), tolerance=current_app.config["PAYMENT_WEBHOOK_TOLERANCE"])
    except signing.SignatureError as exc:
        raise BadWebhook(str(exc)) from None


def apply(row: WebhookEvent, now: datetime) -> Received:
    outcome = OUTCOMES.get(row.type)
    if outcome is None:
        return finish(row, "ignored", f"{row.type} events are not used", now)
    obj = row.payload["data"]["object"]
    key = obj.get("idempotency_key")
    tx = find_transaction(row.gateway_reference, str(key) if key else None)
    if tx is None:
        return waiting(row, "no transaction with this reference yet; applied when it appears")
    code, message = obj.get("failure_code"), obj.get("failure_message")
    status, note = settle(
        tx, outcome, now, failure_code=str(code)[:40] if code else None, message=str(message) if message else None
    )
    return finish(row, status, note, now)
