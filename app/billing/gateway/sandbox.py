"""The built-in sandbox gateway: documented test cards, state in Redis, signed webhooks.

Test cards (any future expiry, any CVC):
    4242 4242 4242 4242  succeeds
    4000 0000 0000 0002  declined (card_declined)
    4000 0000 0000 9995  declined (insufficient_funds)
    4000 0000 0000 0341  succeeds while the customer is present, declines off-session (renewals)
Any other Luhn-valid number succeeds. Like a provider's test tokens (`tok_chargeDeclined`),
a sandbox token names its card's behaviour; it never holds the number.

The sandbox plays an external provider: its records live in Redis, outside our
database transaction, so a retried call with the same idempotency key gets the
first answer. It answers charges at once and confirms every new charge or refund
asynchronously with a signed event POSTed to our webhook (an outbox job queued in
a transaction of its own, so the event may arrive before or after the caller
commits, or after the caller's transaction was lost).
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app import links, outbox
from app.billing.gateway.base import CardDetails, GatewayResult, GatewayUnavailable, PaymentGateway, SavedCard
from app.billing.gateway.cards import brand_of
from app.extensions import db
from app.models.outbox import OutboxMessage
from app.redis_client import get_redis

BEHAVIOURS = {
    "4242424242424242": "ok",
    "4000000000000002": "declined",
    "4000000000009995": "insufficient",
    "4000000000000341": "offsession",
}
MESSAGES = {
    "card_declined": "Your card was declined. Try another card or contact your bank.",
    "insufficient_funds": "Your card has insufficient funds. Try another card.",
    "invalid_payment_method": "That payment method can't be charged. Add a new card.",
}
log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
PREFIX = "sandbox"
TOKEN_PREFIX = "pm_sandbox_"  # noqa: S105 (a prefix of the tokens it makes, not a secret)


def _failure(token: str, off_session: bool) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return "invalid_payment_method"
    behaviour = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
    if behaviour == "declined" or (behaviour == "offsession" and off_session):
        return "card_declined"
    if behaviour == "insufficient":
        return "insufficient_funds"
    if behaviour not in {"ok", "offsession"}:
        return "invalid_payment_method"
    return None


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _provider_call(method: Callable[P, R]) -> Callable[P, R]:
    """The sandbox's store (Redis) being down is the provider being unreachable: the outcome is unknown."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise GatewayUnavailable(f"the payment service did not answer ({exc})") from exc

    return call


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def __init__(self, redis_client: redis.Redis | None = None) -> None:
        self.redis = redis_client or get_redis()

    def tokenize(self, card: CardDetails) -> SavedCard:
        behaviour = BEHAVIOURS.get(card.number, "ok")
        return SavedCard(
            token=f"{TOKEN_PREFIX}{behaviour}_{secrets.token_hex(8)}",
            brand=brand_of(card.number),
            last4=card.number[-4:],
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    @_provider_call
    def charge(
        self,
        *,
        amount: int,
        currency: str,
        token: str,
        idempotency_key: str,
        off_session: bool = False,
        description: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> GatewayResult:
        failure = _failure(token, off_session)
        record = {
            "object": "charge",
            "amount": int(amount),
            "currency": currency,
            "status": "failed" if failure else "succeeded",
            "failure_code": failure,
            "failure_message": MESSAGES.get(failure) if failure else None,
            "idempotency_key": idempotency_key,
            "description": description[:200],
            "metadata": dict(metadata or {}),
            "created": int(time.time()),
        }
        return self._create("ch", record, event_type=f"charge.{record['status']}")

    @_provider_call
    def refund(
        self,
        *,
        charge_reference: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> GatewayResult:
        charge = self._load(charge_reference)
        ok = charge is not None and charge["status"] == "succeeded" and amount <= charge["amount"]
        record = {
            "object": "refund",
            "charge": charge_reference,
            "amount": int(amount),
            "currency": currency,
            "status": "succeeded" if ok else "failed",
            "failure_code": None if ok else "charge_not_refundable",
            "failure_message": None if ok else "That charge can't be refunded.",
            "idempotency_key": idempotency_key,
            "reason": reason[:100],
            "metadata": dict(metadata or {}),
            "created": int(time.time()),
        }
        result = self._create("re", record, event_type=f"refund.{record['status']}")
        # Refunds settle later at real providers: the answer now is "pending", the webhook confirms.
        return GatewayResult("pending", result.reference, result.amount, result.currency) if ok else result

    @_provider_call
    def retrieve(self, idempotency_key: str) -> GatewayResult | None:
        reference = self.redis.get(f"{PREFIX}:key:{idempotency_key}")
        record = self._load(_text(reference)) if reference else None
        return _result(record) if record else None

    def charges(self) -> list[dict[str, Any]]:
        """Every charge the sandbox took (for tests and the benchmark)."""
        return self._listed("charges")

    def refunds(self) -> list[dict[str, Any]]:
        """Every refund the sandbox made (for tests)."""
        return self._listed("refunds")

    def _listed(self, name: str) -> list[dict[str, Any]]:
        return [r for r in (self._load(_text(ref)) for ref in self.redis.lrange(f"{PREFIX}:{name}", 0, -1)) if r]

    def record(self, reference: str) -> dict[str, Any] | None:
        """The sandbox's record of a charge or refund, as its events carry it."""
        return self._load(reference)

    def _load(self, reference: str | None) -> dict[str, Any] | None:
        raw = self.redis.get(f"{PREFIX}:obj:{reference}") if reference else None
        return json.loads(raw) if raw else None

    def _create(self, kind: str, record: dict[str, Any], *, event_type: str) -> GatewayResult:
        reference = f"{kind}_{secrets.token_hex(12)}"
        record["id"] = reference
        key = f"{PREFIX}:key:{record['idempotency_key']}"
        # The record is written before the key claims it, so a winner's record is always readable.
        self.redis.set(f"{PREFIX}:obj:{reference}", json.dumps(record))
        if not self.redis.set(key, reference, nx=True):
            self.redis.delete(f"{PREFIX}:obj:{reference}")
            winner = self._load(_text(self.redis.get(key) or b""))
            if winner is None:  # the winner writes its record before its key: never, unless the store lost it
                raise GatewayUnavailable("the payment service lost the record of this payment")
            return _result(winner)
        self.redis.rpush(f"{PREFIX}:{'charges' if kind == 'ch' else 'refunds'}", reference)
        if current_app.config.get("PAYMENT_SANDBOX_WEBHOOKS"):
            _send_later(event_for(event_type, record))
        return _result(record)


def _send_later(event: dict[str, Any]) -> None:
    """Queue the event's delivery in a transaction of its own: a provider sends its webhook whatever becomes
    of the caller's transaction (which may roll back, or lose its database, right after the charge)."""
    if db.engine.dialect.name == "sqlite":
        # The embedded default has one writer at a time: a second connection would wait for the caller's.
        outbox.enqueue("jobs.billing.deliver_gateway_event", event, queue="high")
        return
    try:
        with Session(db.engine) as own:
            message = OutboxMessage(
                func="jobs.billing.deliver_gateway_event",
                args=[event],
                kwargs={},
                queue="high",
                origin=links.served_origin(),
            )
            own.add(message)
            own.commit()
            message_id = message.id
    except sa.exc.SQLAlchemyError as exc:  # like a provider's failed delivery: reconciliation settles it
        log.warning("sandbox: could not queue the %s webhook (%s)", event["type"], exc.__class__.__name__)
        return
    outbox.relay_pending([message_id])


def _result(record: dict[str, Any]) -> GatewayResult:
    return GatewayResult(
        status=record["status"],
        reference=record["id"],
        amount=record["amount"],
        currency=record["currency"],
        failure_code=record.get("failure_code"),
        message=record.get("failure_message"),
    )


def event_for(event_type: str, record: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "type": event_type,
        "created": int(time.time()) if created is None else created,
        "data": {"object": record},
    }
