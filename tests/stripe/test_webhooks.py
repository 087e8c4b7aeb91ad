"""POST /payment/stripe/webhook: Stripe's signed events, verified by the official SDK, applied once, in any order.

Payments are made at localstripe with the stripe SDK, as the adapter makes them (a PaymentIntent
confirmed off-session with our idempotency key as its metadata), and our own rows are the ones a
renewal writes before it calls the gateway: a pending charge transaction on gateway "stripe".
Where localstripe delivers the event itself, the test serves the app on a free port and registers
it there; where it can't (disputes, charge.refunded) or can't be made to (two outcomes for one
PaymentIntent), the event is built from Stripe's documented shapes and signed as Stripe signs.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import stripe

from app.billing import webhooks
from app.billing.settlement import apply_outcome, lock_transaction
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Invoice, Subscription, Transaction
from app.models.checkout import WebhookEvent
from app.models.notification import Notification
from tests.support import checkout
from tests.support.localstripe import SECRET_KEY, WEBHOOK_SECRETS
from tests.support.users import make_user, sign_in

FIXTURES = Path(__file__).parent / "fixtures"
URL = "/payment/stripe/webhook"
CARD_OK, CARD_CHARGE_DECLINES = "4242424242424242", "4000000000000341"


@pytest.fixture
def shop(stripe_app):
    with stripe_app.app_context():
        ids = checkout.ids(checkout.catalog())
        db.session.remove()
    return ids


@pytest.fixture
def client_sdk(localstripe):
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe.base})


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
            "events": count(WebhookEvent),
        }


def test_a_succeeded_payment_intent_delivered_by_localstripe_is_verified_and_pays_the_renewal_once(
    stripe_app, localstripe, live_server, client_sdk, user, shop
):
    row = renewal(stripe_app, user, shop["crm_team"])
    localstripe.register_webhook(live_server.url(URL), events=["payment_intent.succeeded"])
    intent_id = charge_at_stripe(client_sdk, row)
    remember_reference(stripe_app, row, intent_id)
    wait_for(stripe_app, lambda: count(WebhookEvent, WebhookEvent.status == "processed"))
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
        event = db.session.scalar(sa.select(WebhookEvent))
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
    wait_for(stripe_app, lambda: count(WebhookEvent, WebhookEvent.status == "processed"))
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
    charge_at_stripe(client_sdk, row)
    wait_for(stripe_app, lambda: count(WebhookEvent, WebhookEvent.status == "processed"))
    assert state(stripe_app, row)["tx"] == "succeeded"


def test_the_same_event_delivered_twice_changes_nothing_the_second_time(
    stripe_app, localstripe, live_server, client, client_sdk, user, shop
):
    row = renewal(stripe_app, user, shop["crm_team"])
    localstripe.register_webhook(live_server.url(URL), events=["payment_intent.succeeded"])
    charge_at_stripe(client_sdk, row)
    wait_for(stripe_app, lambda: count(WebhookEvent, WebhookEvent.status == "processed"))
    before = state(stripe_app, row)
    with stripe_app.app_context():
        delivered = db.session.scalar(sa.select(WebhookEvent)).payload
    again = post(client, delivered)  # Stripe redelivers an event it got no 2xx for: same id, fresh signature
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert state(stripe_app, row) == before
    with stripe_app.app_context():
        assert count(Notification, Notification.kind == "payment_receipt") == 1


def _intent(localstripe, intent_id: str, **changes) -> dict:
    return {**localstripe.api("GET", f"payment_intents/{intent_id}"), **changes}


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
        "succeeded": envelope("payment_intent.succeeded", _intent(localstripe, intent_id)),
        "failed": envelope(
            "payment_intent.payment_failed",
            _intent(localstripe, intent_id, status="requires_payment_method", last_payment_error=error),
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
    response = post(client, envelope("payment_intent.succeeded", _intent(localstripe, intent_id)))
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
    early = post(client, envelope("payment_intent.succeeded", _intent(localstripe, intent_id)))
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
            envelope("payment_intent.succeeded", _intent(localstripe, intent_id))
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


def _paid_renewal(app, localstripe, client_sdk, user, plan_id) -> tuple[dict, str]:
    row = renewal(app, user, plan_id)
    intent_id = charge_at_stripe(client_sdk, row)
    with app.app_context():
        tx = lock_transaction(Transaction.id == row["tx"])
        tx.gateway_reference = intent_id
        apply_outcome(tx, "succeeded")
        db.session.commit()
    return row, intent_id


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_a_pending_refund_is_settled_by_charge_refunded(stripe_app, localstripe, client, client_sdk, user, shop):
    """localstripe sends no charge.refunded, so the event is Stripe's documented one (tests/stripe/fixtures,
    from stripe/openapi's fixtures) naming the real charge and refund made at localstripe, signed as Stripe signs."""
    row, intent_id = _paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    charge_id = localstripe.api("GET", f"payment_intents/{intent_id}")["latest_charge"]["id"]
    with stripe_app.app_context():
        refund_tx = Transaction(
            user_id=user.id,
            kind="refund",
            purpose="refund",
            status="pending",
            amount=row["amount"],
            currency="USD",
            gateway="stripe",
            parent_id=row["tx"],
            idempotency_key=f"refund:{row['invoice']}:0",
        )
        db.session.add(refund_tx)
        db.session.commit()
        refund_id, refund_key = refund_tx.id, refund_tx.idempotency_key
    refund = localstripe.api(
        "POST",
        "refunds",
        charge=charge_id,
        **{"metadata[idempotency_key]": refund_key, "metadata[transaction_id]": str(refund_id)},
    )
    event = _fixture("charge.refunded")
    charge = event["data"]["object"]
    charge.update(id=charge_id, payment_intent=intent_id, amount=row["amount"], amount_refunded=row["amount"])
    charge["refunds"]["data"] = [{**charge["refunds"]["data"][0], **refund, "status": "succeeded"}]
    response = post(client, {**event, "created": int(time.time())})
    assert response.status_code == 200 and response.json["status"] == "processed"
    with stripe_app.app_context():
        settled = db.session.get(Transaction, refund_id)
        assert (settled.status, settled.gateway_reference) == ("succeeded", refund["id"])
        assert db.session.get(Transaction, row["tx"]).status == "refunded"  # all of it came back
    again = post(client, {**event, "id": "evt_redelivered_later", "created": int(time.time())})
    assert again.json["status"] == "processed" and "already succeeded" in again.json["note"]


def test_a_dispute_marks_the_invoice_disputed_and_tells_billing_staff_in_app_and_by_email(
    stripe_app, localstripe, client, client_sdk, user, shop, run_jobs, smtp_sink
):
    """localstripe has no dispute API: the event is Stripe's documented charge.dispute.created (tests/stripe/fixtures,
    from stripe/openapi's fixtures) naming the real PaymentIntent paid at localstripe, signed as Stripe signs."""
    with stripe_app.app_context():
        staff = {make_user(username="grace", role="admin").email, make_user(username="helper", role="support").email}
    row, intent_id = _paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    run_jobs()  # the customer's receipt
    smtp_sink.messages.clear()
    event = _fixture("charge.dispute.created")
    event["data"]["object"].update(payment_intent=intent_id, amount=row["amount"], currency="usd")
    response = post(client, {**event, "created": int(time.time())})
    assert response.status_code == 200 and response.json["status"] == "processed"
    assert post(client, {**event, "created": int(time.time())}).json["status"] == "duplicate"
    run_jobs()
    messages = smtp_sink.wait_for(1)
    with stripe_app.app_context():
        invoice = db.session.get(Invoice, row["invoice"])
        assert invoice.status == "disputed"
        admin = db.session.scalar(sa.select(Notification).where(Notification.kind == "invoice_disputed"))
        assert count(Notification, Notification.kind == "invoice_disputed") == 1  # the admin; support can't manage
        assert admin.title == f"Payment disputed: {invoice.number}" and "fraudulent" in admin.body
        audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invoice.disputed"))
        assert audit.target_id == str(invoice.id) and audit.after["reason"] == "fraudulent"
        assert audit.after["dispute"] == event["data"]["object"]["id"]
    assert [m["To"] for m in messages] == [next(a for a in staff if a.startswith("grace"))]
    assert invoice.number in messages[0]["Subject"] and "Send Stripe your evidence by" in smtp_sink.text(messages[0])


def test_a_disputed_invoice_reads_disputed_to_the_customer_in_its_pdf_and_in_the_admin_filter(
    stripe_app, localstripe, client, client_sdk, user, shop
):
    row, intent_id = _paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    other, _ = _paid_renewal(stripe_app, localstripe, client_sdk, user, shop["analytics_yearly"])
    event = _fixture("charge.dispute.created")
    event["data"]["object"].update(payment_intent=intent_id)
    assert post(client, {**event, "created": int(time.time())}).json["status"] == "processed"
    with stripe_app.app_context():
        sign_in(client, db.session.get(type(user), user.id))
        disputed, paid = (db.session.get(Invoice, r["invoice"]).number for r in (row, other))
    page = client.get(f"/invoices/{row['invoice']}").get_data(as_text=True)
    assert "Disputed" in page and "Amount paid" in page
    pdf = client.get(f"/invoices/{row['invoice']}.pdf")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    assert pdf.status_code == 200 and "Disputed" in text
    with stripe_app.app_context():
        admin = stripe_app.test_client()
        sign_in(admin, make_user(username="root", role="admin"))
    detail = admin.get(f"/admin/invoices/{row['invoice']}").get_data(as_text=True)
    assert "disputed" in detail and "answer the dispute in Stripe" in detail
    listing = admin.get("/admin/invoices?status=disputed").get_data(as_text=True)
    assert disputed in listing and paid not in listing


def _dispute_event(event_type: str, intent_id: str, **dispute) -> dict:
    event = _fixture("charge.dispute.created")
    event["data"]["object"].update(payment_intent=intent_id, **dispute)
    return {**event, "id": f"evt_{secrets.token_hex(12)}", "type": event_type, "created": int(time.time())}


def test_a_won_dispute_makes_the_invoice_paid_again_and_a_lost_one_leaves_it_disputed(
    stripe_app, localstripe, client, client_sdk, user, shop
):
    """Stripe's documented dispute (localstripe has none), closed as Stripe closes it: status won or lost."""
    won, won_intent = _paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    lost, lost_intent = _paid_renewal(stripe_app, localstripe, client_sdk, user, shop["analytics_yearly"])
    for intent_id, outcome, dispute_id in ((won_intent, "won", "dp_won"), (lost_intent, "lost", "dp_lost")):
        assert post(client, _dispute_event("charge.dispute.created", intent_id, id=dispute_id)).status_code == 200
        closed = post(client, _dispute_event("charge.dispute.closed", intent_id, id=dispute_id, status=outcome))
        assert closed.json["status"] == "processed"
    with stripe_app.app_context():
        assert db.session.get(Invoice, won["invoice"]).status == "paid"
        assert db.session.get(Invoice, lost["invoice"]).status == "disputed"
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"invoice.disputed", "invoice.dispute_won", "invoice.dispute_lost"} <= actions


def test_a_dispute_created_event_arriving_after_its_closed_one_changes_nothing(
    stripe_app, localstripe, client, client_sdk, user, shop
):
    with stripe_app.app_context():
        make_user(username="grace", role="admin")
    row, intent_id = _paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    post(client, _dispute_event("charge.dispute.closed", intent_id, id="dp_late", status="won"))
    late = post(client, _dispute_event("charge.dispute.created", intent_id, id="dp_late"))
    assert late.status_code == 200 and late.json["status"] == "ignored"
    with stripe_app.app_context():
        assert db.session.get(Invoice, row["invoice"]).status == "paid"
        assert count(Notification, Notification.kind == "invoice_disputed") == 0
