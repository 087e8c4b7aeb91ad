"""Stripe's side of the webhook tests: payments made at localstripe as the adapter makes them, events signed as
Stripe signs them, and what our database says afterwards."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import sqlalchemy as sa
import stripe

from app.billing.settlement import apply_outcome, lock_transaction
from app.extensions import db
from app.models.billing import Invoice, Subscription, Transaction
from app.models.checkout import WebhookEvent
from app.models.notification import Notification
from tests.support import checkout
from tests.support.localstripe import WEBHOOK_SECRETS

FIXTURES = Path(__file__).parent / "fixtures"
URL = "/payment/stripe/webhook"
CARD_OK, CARD_CHARGE_DECLINES = "4242424242424242", "4000000000000341"


def renewal(app, user, plan_id) -> dict:
    """A renewal about to be charged at Stripe: its subscription, invoice and pending transaction."""
    with app.app_context():
        sub, invoice, tx = checkout.renewal_transaction(user, plan_id, gateway="stripe")
        return {"sub": sub.id, "invoice": invoice.id, "tx": tx.id, "key": tx.idempotency_key, "amount": tx.amount}


def charge_at_stripe(client_sdk, row: dict, card: str = CARD_OK) -> str | None:
    """Create and confirm the renewal's PaymentIntent off-session, as the adapter does: its id (None if declined)."""
    customer = client_sdk.v1.customers.create(params={"email": "ada@example.com"})
    method = client_sdk.v1.payment_methods.create(
        params={"type": "card", "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    client_sdk.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    try:
        intent = client_sdk.v1.payment_intents.create(
            params={
                "amount": row["amount"],
                "currency": "usd",
                "customer": customer.id,
                "payment_method": method.id,
                "confirm": True,
                "off_session": True,
                "metadata": {"idempotency_key": row["key"], "transaction_id": str(row["tx"])},
            },
            options={"idempotency_key": row["key"]},
        )
    except stripe.CardError:
        return None
    return intent.id


def remember_reference(app, row: dict, intent_id: str) -> None:
    """What the adapter does with Stripe's answer before settling it: the transaction names its PaymentIntent."""
    with app.app_context():
        db.session.get(Transaction, row["tx"]).gateway_reference = intent_id
        db.session.commit()


def signed(event: dict, *, secret: str = WEBHOOK_SECRETS[0], timestamp: int | None = None) -> tuple[bytes, str]:
    """The body and Stripe-Signature header Stripe would send: t=<unix>,v1=HMAC-SHA256(secret, "t.body")."""
    body = json.dumps(event, indent=2)
    return body.encode(), stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)


def post(client, event: dict, **signing):
    body, header = signed(event, **signing)
    return client.post(URL, data=body, headers={"Stripe-Signature": header}, content_type="application/json")


def envelope(event_type: str, obj: dict) -> dict:
    """An event as Stripe wraps one (the documented envelope of tests/stripe/fixtures), a fresh id."""
    base = json.loads((FIXTURES / "charge.dispute.created.json").read_text())
    return {**base, "id": f"evt_{secrets.token_hex(12)}", "created": int(time.time()), "type": event_type,
            "data": {"object": obj}}  # fmt: skip


def delivered(intent_id: str | None = None) -> WebhookEvent | None:
    """The processed event about `intent_id` (or about any of our transactions), once it has come."""
    where = [WebhookEvent.status == "processed"]
    if intent_id:
        where.append(WebhookEvent.gateway_reference == intent_id)
    return db.session.scalar(sa.select(WebhookEvent).where(*where).limit(1))


def wait_for(app, condition, timeout: float = 10.0):
    """localstripe delivers about a second after the call; poll our database until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            found = condition()
            db.session.remove()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("the webhook's effect never appeared")


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def state(app, row: dict) -> dict:
    with app.app_context():
        tx = db.session.get(Transaction, row["tx"])
        return {
            "tx": tx.status,
            "reference": tx.gateway_reference,
            "code": tx.failure_code,
            "message": tx.failure_message,
            "invoice": db.session.get(Invoice, row["invoice"]).status,
            "sub": db.session.get(Subscription, row["sub"]).status,
            "receipts": count(Notification, Notification.kind == "payment_receipt"),
            # localstripe may still deliver an event of an earlier test's payment: count this one's only.
            "events": count(WebhookEvent, WebhookEvent.gateway_reference == tx.gateway_reference),
        }


def intent(localstripe, intent_id: str, **changes) -> dict:
    return {**localstripe.api("GET", f"payment_intents/{intent_id}"), **changes}


def paid_renewal(app, localstripe, client_sdk, user, plan_id) -> tuple[dict, str]:
    row = renewal(app, user, plan_id)
    intent_id = charge_at_stripe(client_sdk, row)
    with app.app_context():
        tx = lock_transaction(Transaction.id == row["tx"])
        tx.gateway_reference = intent_id
        apply_outcome(tx, "succeeded")
        db.session.commit()
    return row, intent_id


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())
