"""POST /payment/stripe/webhook: Stripe's signed events, verified by the official SDK, applied once, in any order.

Payments are made at localstripe with the stripe SDK, as the adapter makes them (a PaymentIntent
confirmed off-session with our idempotency key as its metadata), and our own rows are the ones a
renewal writes before it calls the gateway: a pending charge transaction on gateway "stripe".
Where localstripe delivers the event itself, the test serves the app on a free port and registers
it there; where it can't (disputes, charge.refunded) or can't be made to (two outcomes for one
PaymentIntent), the event is built from Stripe's documented shapes and signed as Stripe signs.
"""

from __future__ import annotations

import secrets
import time

import pytest
import sqlalchemy as sa
import stripe

from app.billing import webhooks
from app.billing.settlement import apply_outcome, lock_transaction
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from app.models.checkout import WebhookEvent
from app.models.notification import Notification
from tests.stripe.events import (
    CARD_CHARGE_DECLINES,
    URL,
    charge_at_stripe,
    count,
    delivered,
    envelope,
    intent,
    post,
    remember_reference,
    renewal,
    signed,
    state,
    wait_for,
)
from tests.support import checkout
from tests.support.localstripe import WEBHOOK_SECRETS


def test_a_succeeded_payment_intent_delivered_by_localstripe_is_verified_and_pays_the_renewal_once(
    stripe_app, localstripe, live_server, client_sdk, user, shop
):
    row = renewal(stripe_app, user, shop["crm_team"])
    localstripe.register_webhook(live_server.url(URL), events=["payment_intent.succeeded"])
    intent_id = charge_at_stripe(client_sdk, row)
    remember_reference(stripe_app, row, intent_id)
    wait_for(stripe_app, lambda: delivered(intent_id))
    assert state(stripe_app, row) == {
        "tx": "succeeded",
        "reference": intent_id,
        "code": None,
        "message": None,
        "invoice": "paid",
        "sub": "active",
        "receipts": 1,
        "events": 1,
    }
    with stripe_app.app_context():
        event = delivered(intent_id)
        sub, invoice = db.session.get(Subscription, row["sub"]), db.session.get(Invoice, row["invoice"])
        assert (event.gateway, event.type, event.gateway_reference) == ("stripe", "payment_intent.succeeded", intent_id)
        assert sub.current_period_end == invoice.period_end
    assert localstripe.api("GET", f"payment_intents/{intent_id}")["status"] == "succeeded"


def test_a_declined_payment_intent_fails_the_renewal_found_by_the_idempotency_key_in_its_metadata(
    stripe_app, localstripe, live_server, client_sdk, user, shop
):
    """The decline raised at the call, so the transaction never learnt the PaymentIntent's id: the event names it."""
    row = renewal(stripe_app, user, shop["crm_team"])
    localstripe.register_webhook(live_server.url(URL), events=["payment_intent.payment_failed"])
    assert charge_at_stripe(client_sdk, row, card=CARD_CHARGE_DECLINES) is None
    wait_for(stripe_app, delivered)  # a leftover delivery names no transaction of this test's: it waits, pending
    after = state(stripe_app, row)
    assert after["reference"].startswith("pi_")
    assert {k: after[k] for k in ("tx", "code", "message", "invoice", "sub", "receipts")} == {
        "tx": "failed",
        "code": "card_declined",
        "message": "Your card was declined.",
        "invoice": "open",
        "sub": "past_due",
        "receipts": 0,
    }
    assert localstripe.api("GET", f"payment_intents/{after['reference']}")["metadata"]["idempotency_key"] == row["key"]


def test_an_event_signed_with_the_previous_secret_during_rotation_is_accepted(
    stripe_app, localstripe, live_server, client_sdk, user, shop
):
    row = renewal(stripe_app, user, shop["crm_team"])
    localstripe.register_webhook(live_server.url(URL), secret=WEBHOOK_SECRETS[1], events=["payment_intent.succeeded"])
    intent_id = charge_at_stripe(client_sdk, row)
    wait_for(stripe_app, lambda: delivered(intent_id))
    assert state(stripe_app, row)["tx"] == "succeeded"


def test_the_same_event_delivered_twice_changes_nothing_the_second_time(
    stripe_app, localstripe, live_server, client, client_sdk, user, shop
):
    row = renewal(stripe_app, user, shop["crm_team"])
    localstripe.register_webhook(live_server.url(URL), events=["payment_intent.succeeded"])
    intent_id = charge_at_stripe(client_sdk, row)
    wait_for(stripe_app, lambda: delivered(intent_id))
    before = state(stripe_app, row)
    with stripe_app.app_context():
        payload = delivered(intent_id).payload
    again = post(client, payload)  # Stripe redelivers an event it got no 2xx for: same id, fresh signature
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert state(stripe_app, row) == before
    with stripe_app.app_context():
        assert count(Notification, Notification.kind == "payment_receipt") == 1


@pytest.mark.parametrize("order", [("failed", "succeeded"), ("succeeded", "failed")], ids="-then-".join)
def test_a_failure_and_a_success_of_one_payment_intent_end_paid_in_either_order(
    stripe_app, localstripe, client, client_sdk, user, shop, order
):
    """A declined PaymentIntent may be confirmed again and succeed; the two events may arrive either way round.

    localstripe can't confirm a declined PaymentIntent again, so both events carry its real PaymentIntent,
    the failed one as Stripe documents it (requires_payment_method with last_payment_error), and are signed here.
    """
    row = renewal(stripe_app, user, shop["crm_team"])
    intent_id = charge_at_stripe(client_sdk, row)
    error = {"code": "card_declined", "message": "Your card was declined.", "type": "card_error"}
    events = {
        "succeeded": envelope("payment_intent.succeeded", intent(localstripe, intent_id)),
        "failed": envelope(
            "payment_intent.payment_failed",
            intent(localstripe, intent_id, status="requires_payment_method", last_payment_error=error),
        ),
    }
    answers = [post(client, events[name]).json["status"] for name in order]
    assert answers == (["processed", "processed"] if order[0] == "failed" else ["processed", "ignored"])
    after = state(stripe_app, row)
    assert {k: after[k] for k in ("tx", "code", "invoice", "sub", "receipts")} == {
        "tx": "succeeded",
        "code": None,
        "invoice": "paid",
        "sub": "active",
        "receipts": 1,
    }


def test_a_success_the_adapter_already_settled_is_not_applied_again(
    stripe_app, localstripe, client, client_sdk, user, shop
):
    """Whichever comes first — the synchronous answer, the webhook or reconciliation — settles; the others don't."""
    row = renewal(stripe_app, user, shop["crm_team"])
    intent_id = charge_at_stripe(client_sdk, row)
    with stripe_app.app_context():  # the adapter's synchronous answer, through the one settlement function
        tx = lock_transaction(Transaction.id == row["tx"])
        tx.gateway_reference = intent_id
        apply_outcome(tx, "succeeded")
        db.session.commit()
    response = post(client, envelope("payment_intent.succeeded", intent(localstripe, intent_id)))
    assert response.status_code == 200 and response.json["status"] == "processed"
    assert "already succeeded" in response.json["note"]
    with stripe_app.app_context():
        assert webhooks.apply_waiting(utcnow()) == 0
    assert state(stripe_app, row)["receipts"] == 1


def test_an_event_that_arrives_before_its_transaction_waits_and_reconciliation_applies_it(
    stripe_app, localstripe, client, client_sdk, user, shop
):
    """The PaymentIntent exists at Stripe before our row is visible (its key is known; the row not committed yet)."""
    key = f"renewal:early:{secrets.token_hex(4)}"
    intent_id = charge_at_stripe(client_sdk, {"amount": 5390, "key": key, "tx": "not-yet"})
    early = post(client, envelope("payment_intent.succeeded", intent(localstripe, intent_id)))
    assert early.status_code == 200 and early.json["status"] == "pending"
    with stripe_app.app_context():
        _, invoice, tx = checkout.renewal_transaction(user, shop["crm_team"], gateway="stripe", key=key)
        row = {"tx": tx.id, "invoice": invoice.id, "sub": tx.subscription_id}
        assert webhooks.apply_waiting(utcnow()) == 1
    after = state(stripe_app, row)
    assert (after["tx"], after["reference"], after["invoice"], after["receipts"]) == (
        "succeeded",
        intent_id,
        "paid",
        1,
    )


def test_an_unknown_event_type_is_recorded_as_ignored(stripe_app, client):
    response = post(client, envelope("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200 and response.json["status"] == "ignored"
    with stripe_app.app_context():
        assert db.session.scalar(sa.select(WebhookEvent.status)) == "ignored"


def _bad_deliveries(event: dict) -> list[tuple[str, bytes, dict]]:
    body, header = signed(event)
    now = int(time.time())

    def sign(raw: bytes) -> dict:
        return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(raw.decode(), WEBHOOK_SECRETS[0])}

    forged = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_not_ours")
    stale = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRETS[0], now - 301)
    tampered = body.replace(b'"payment_intent.succeeded"', b'"payment_intent.payment_failed"')
    not_utf8 = b'{"id": "evt_\xff"}'
    return [
        ("unsigned", body, {}),
        ("forged", body, {"Stripe-Signature": forged}),
        ("stale", body, {"Stripe-Signature": stale}),
        ("tampered", tampered, {"Stripe-Signature": header}),
        ("garbled header", body, {"Stripe-Signature": "t=abc,v1="}),
        ("sandbox header", body, {"X-MultiProduct-Signature": header}),
        ("malformed JSON", b'{"id": "evt_1"', sign(b'{"id": "evt_1"')),
        ("a JSON list", b"[]", sign(b"[]")),
        ("not UTF-8", not_utf8, {"Stripe-Signature": f"t={now},v1=00"}),
        (
            "no data.object.id",
            b'{"id": "evt_2", "object": "event", "type": "x", "data": {}}',
            sign(b'{"id": "evt_2", "object": "event", "type": "x", "data": {}}'),
        ),  # fmt: skip
        ("nested too deep", ("[" * 5000 + "]" * 5000).encode(), sign(("[" * 5000 + "]" * 5000).encode())),
    ]


def test_forged_stale_unsigned_and_malformed_deliveries_are_400_and_change_nothing(
    stripe_app, localstripe, client, client_sdk, user, shop
):
    row = renewal(stripe_app, user, shop["crm_team"])
    intent_id = charge_at_stripe(client_sdk, row)
    remember_reference(stripe_app, row, intent_id)
    before = state(stripe_app, row)
    answers = {
        label: client.post(URL, data=body, headers=headers, content_type="application/json").status_code
        for label, body, headers in _bad_deliveries(
            envelope("payment_intent.succeeded", intent(localstripe, intent_id))
        )
    }
    assert answers == dict.fromkeys(answers, 400)
    assert state(stripe_app, row) == before and before["events"] == 0


def test_a_body_over_the_limit_is_a_413_unread(stripe_app, client):
    event = envelope("customer.updated", {"id": "cus_1", "padding": "x" * 300_000})
    body, header = signed(event)
    response = client.post(URL, data=body, headers={"Stripe-Signature": header}, content_type="application/json")
    assert response.status_code == 413
    with stripe_app.app_context():
        assert count(WebhookEvent) == 0


def test_without_a_configured_secret_every_delivery_is_refused(stripe_app, client):
    stripe_app.config["STRIPE_WEBHOOK_SECRET"] = ""
    response = post(client, envelope("customer.created", {"id": "cus_1"}))
    assert response.status_code == 400 and response.json["error"] == "no Stripe webhook secret is configured"
