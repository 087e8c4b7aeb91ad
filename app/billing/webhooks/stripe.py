"""Stripe's events (POST /payment/stripe/webhook), verified by the official SDK, read by Stripe's documented shapes.

- `payment_intent.succeeded` / `payment_intent.payment_failed`: the charge transaction whose
  gateway_reference is the PaymentIntent id, else the one whose idempotency key the intent's
  metadata carries (our answer from Stripe may never have arrived); failed with
  `last_payment_error`'s code and message.
- `charge.refunded` (the charge lists its refunds in `refunds.data` on API versions before
  2022-11-15) and `refund.created` / `refund.updated` / `refund.failed` (one refund each, every
  version): each refund we made (its id, else its metadata's idempotency key) is settled.
- `charge.dispute.created`: the invoices the disputed PaymentIntent paid become disputed and
  billing staff are told (app/billing/disputes.py); `charge.dispute.closed` makes them paid again
  when the dispute was won. A dispute already closed here is not opened by a late created event.

Anything else is recorded as ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import stripe
from flask import current_app

from app.billing import disputes
from app.billing.webhooks.events import (
    BadWebhook,
    Received,
    find_transaction,
    finish,
    instant,
    settle,
    text,
    waiting,
)
from app.extensions import db
from app.models.billing import Transaction
from app.models.checkout import WebhookEvent

GATEWAY = "stripe"
REFUND_OUTCOMES = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}


def webhook_secrets() -> list[str]:
    raw = current_app.config.get("STRIPE_WEBHOOK_SECRET") or ""
    return [s.strip() for s in raw.split(",") if s.strip()]


def verify(body: bytes, header: str) -> None:
    """`stripe.Webhook.construct_event` with each configured secret (one may be rotating out); BadWebhook if none."""
    secrets = webhook_secrets()
    if not secrets:
        raise BadWebhook("no Stripe webhook secret is configured")
    if not header:
        raise BadWebhook("missing Stripe-Signature header")
    tolerance = current_app.config["PAYMENT_WEBHOOK_TOLERANCE"]
    refusals = []
    for secret in secrets:
        try:
            stripe.Webhook.construct_event(body, header, secret, tolerance=tolerance)
            return
        except stripe.SignatureVerificationError as exc:
            refusals.append(str(exc.user_message or exc))
        except UnicodeDecodeError:
            raise BadWebhook("body is not UTF-8") from None
        except RecursionError:
            raise BadWebhook("body is nested too deeply") from None
        except (ValueError, TypeError, AttributeError, KeyError):
            # Signed, but not a Stripe event the SDK can read (not JSON, not an object).
            raise BadWebhook("body is not a Stripe event") from None
    stale = [r for r in refusals if r.startswith("Timestamp")]
    raise BadWebhook((stale or refusals)[-1])


def apply(row: WebhookEvent, now: datetime) -> Received:
    handler = HANDLERS.get(row.type)
    if handler is None:
        return finish(row, "ignored", f"{row.type} events are not used", now)
    return handler(row, row.payload["data"]["object"], now)


def _metadata_key(obj: dict[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    return text(metadata.get("idempotency_key"), 120) if isinstance(metadata, dict) else None


def _ours(kind: str, reference: str | None, key: str | None = None) -> Transaction | None:
    """Our Stripe transaction of `kind` (charge, refund) that the event names, locked."""
    tx = find_transaction(reference, key, gateway=GATEWAY)
    return tx if tx is not None and tx.kind == kind else None


def _charge_for(intent: dict[str, Any]) -> Transaction | None:
    return _ours("charge", text(intent.get("id"), 100), _metadata_key(intent))


def _intent_succeeded(row: WebhookEvent, intent: dict[str, Any], now: datetime) -> Received:
    tx = _charge_for(intent)
    if tx is None:
        return waiting(row, "no transaction for this PaymentIntent yet; applied when it appears")
    return finish(row, *settle(tx, "succeeded", now), now)


def _intent_failed(row: WebhookEvent, intent: dict[str, Any], now: datetime) -> Received:
    tx = _charge_for(intent)
    if tx is None:
        return waiting(row, "no transaction for this PaymentIntent yet; applied when it appears")
    error = intent.get("last_payment_error")
    error = error if isinstance(error, dict) else {}
    code, message = text(error.get("code"), 40), text(error.get("message"), 300)
    return finish(row, *settle(tx, "failed", now, failure_code=code, message=message), now)


def _charge_refunded(row: WebhookEvent, charge: dict[str, Any], now: datetime) -> Received:
    refunds = charge.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, dict) else None
    if not isinstance(listed, list) or not listed:
        note = "the charge lists no refunds (API versions from 2022-11-15 leave them out; refund.updated carries them)"
        return finish(row, "ignored", note, now)
    return _settle_refunds(row, [r for r in listed if isinstance(r, dict)], now)


def _refund_event(row: WebhookEvent, refund: dict[str, Any], now: datetime) -> Received:
    return _settle_refunds(row, [refund], now)


def _settle_refunds(row: WebhookEvent, refunds: list[dict[str, Any]], now: datetime) -> Received:
    """Settle every refund we made; wait for any of ours whose transaction isn't visible yet."""
    notes: list[str] = []
    missing: list[str] = []
    settled = False
    for refund in refunds:
        refund_id, key = text(refund.get("id"), 100), _metadata_key(refund)
        outcome = REFUND_OUTCOMES.get(str(refund.get("status")))
        if outcome is None:
            notes.append(f"refund {refund_id} is still {refund.get('status')}")
            continue
        tx = _ours("refund", refund_id, key)
        if tx is None:
            if key:
                missing.append(str(refund_id))
            else:
                notes.append(f"refund {refund_id} wasn't made here")
            continue
        status, note = settle(tx, outcome, now)
        settled = settled or status == "processed"
        notes.append(note)
    if missing:
        return waiting(row, "; ".join([f"no transaction for refund {', '.join(missing)} yet", *notes]))
    return finish(row, "processed" if settled else "ignored", "; ".join(notes) or "no refunds listed", now)


def _dispute_created(row: WebhookEvent, dispute: dict[str, Any], now: datetime) -> Received:
    intent_id = text(dispute.get("payment_intent"), 100)
    if intent_id is None:
        return finish(row, "ignored", "the dispute names no PaymentIntent (a charge not made here)", now)
    tx = _ours("charge", intent_id)
    if tx is None:
        return waiting(row, f"no transaction for {intent_id} yet; applied when it appears")
    if _closed_already(row):
        return finish(row, "ignored", f"dispute {row.gateway_reference} was closed before this event arrived", now)
    if tx.status == "pending":
        settle(tx, "succeeded", now)  # only a payment that went through can be disputed: its success event is late
    evidence = dispute.get("evidence_details")
    amount = dispute.get("amount")
    disputed = disputes.open_dispute(
        tx,
        dispute_id=str(text(dispute.get("id"), 100)),
        reason=text(dispute.get("reason"), 60) or "unknown",
        amount=amount if isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0 else tx.amount,
        currency=(text(dispute.get("currency"), 3) or tx.currency).upper(),
        respond_by=instant(evidence.get("due_by")) if isinstance(evidence, dict) else None,
        now=now,
    )
    if not disputed:
        return finish(row, "ignored", f"transaction {tx.id} paid no invoice that is paid now", now)
    return finish(row, "processed", f"disputed: {', '.join(i.number or str(i.id) for i in disputed)}", now)


def _closed_already(row: WebhookEvent) -> bool:
    closed = sa.select(WebhookEvent.id).where(
        WebhookEvent.gateway == GATEWAY,
        WebhookEvent.type == "charge.dispute.closed",
        WebhookEvent.gateway_reference == row.gateway_reference,
        WebhookEvent.status == "processed",
    )
    return db.session.scalar(closed.limit(1)) is not None


def _dispute_closed(row: WebhookEvent, dispute: dict[str, Any], now: datetime) -> Received:
    intent_id = text(dispute.get("payment_intent"), 100)
    outcome = dispute.get("status")
    if intent_id is None or outcome not in ("won", "lost"):
        return finish(row, "ignored", f"a dispute closed as {outcome} on no PaymentIntent of ours", now)
    tx = _ours("charge", intent_id)
    if tx is None:
        return waiting(row, f"no transaction for {intent_id} yet; applied when it appears")
    closed = disputes.close_dispute(tx, dispute_id=str(row.gateway_reference), won=outcome == "won", now=now)
    numbers = ", ".join(i.number or str(i.id) for i in closed) or "no invoice disputed yet"
    return finish(row, "processed", f"dispute {outcome}: {numbers}", now)


Handler = Callable[[WebhookEvent, dict[str, Any], datetime], Received]
HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "refund.failed": _refund_event,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
