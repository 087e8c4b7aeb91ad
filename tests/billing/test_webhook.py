import json
import time
from datetime import timedelta

import sqlalchemy as sa

from app.billing.gateway import signing
from app.billing.gateway.sandbox import event_for
from app.billing.services import reconcile
from app.billing.services.lifecycle import Report
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Invoice, PaymentMethod, Subscription, Transaction
from app.models.checkout import CheckoutAttempt, WebhookEvent
from app.models.notification import Notification
from tests.support.checkout import CARD_DECLINED, add_to_cart, card, pay, pending_renewal, save_card

CURRENT, PREVIOUS = "whsec_test_current", "whsec_test_previous"


def post_event(client, event: dict, *, secrets=(CURRENT,), timestamp: int | None = None, header: str | None = None):
    body = json.dumps(event).encode()
    if header is None:
        header = signing.sign(body, list(secrets), timestamp)
    return client.post("/payment/webhook", data=body, headers={signing.HEADER: header}, content_type="application/json")


def _pending(app, user, shop):
    with app.app_context():
        sub, invoice, tx, charge = pending_renewal(user, shop["crm_team"])
        return sub.id, invoice.id, tx.id, charge


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_signed_success_event_settles_the_pending_payment_it_names(app, client, user, shop):
    sub_id, invoice_id, tx_id, charge = _pending(app, user, shop)
    response = post_event(client, event_for("charge.succeeded", charge))
    assert response.status_code == 200 and response.json["status"] == "processed"
    with app.app_context():
        tx, invoice, sub = (
            db.session.get(Transaction, tx_id),
            db.session.get(Invoice, invoice_id),
            db.session.get(Subscription, sub_id),
        )
        assert tx.status == "succeeded" and tx.gateway_reference == charge["id"]
        assert invoice.status == "paid"
        assert sub.current_period_start == invoice.period_start and sub.current_period_end == invoice.period_end
        assert _count(Notification, Notification.kind == "payment_receipt") == 1


def test_a_bad_signature_is_refused_with_400_and_changes_nothing(app, client, user, shop):
    _, _, tx_id, charge = _pending(app, user, shop)
    response = post_event(client, event_for("charge.succeeded", charge), secrets=("whsec_wrong",))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Transaction, tx_id).status == "pending"
        assert _count(WebhookEvent) == 0


def test_a_stale_timestamp_is_refused_with_400(app, client, user, shop):
    _, _, tx_id, charge = _pending(app, user, shop)
    stale = post_event(client, event_for("charge.succeeded", charge), timestamp=int(time.time()) - 301)
    future = post_event(client, event_for("charge.succeeded", charge), timestamp=int(time.time()) + 301)
    assert stale.status_code == future.status_code == 400
    with app.app_context():
        assert db.session.get(Transaction, tx_id).status == "pending"


def test_a_body_changed_after_signing_is_refused(app, client, user, shop):
    _, _, tx_id, charge = _pending(app, user, shop)
    event = event_for("charge.succeeded", charge)
    header = signing.sign(json.dumps(event).encode(), [CURRENT])
    event["data"]["object"]["amount"] = 1
    assert post_event(client, event, header=header).status_code == 400


def test_during_secret_rotation_the_previous_secret_and_several_v1_values_are_accepted(app, client, user, shop):
    _, _, _, charge = _pending(app, user, shop)
    assert post_event(client, event_for("charge.succeeded", charge), secrets=(PREVIOUS,)).status_code == 200
    body = json.dumps(event_for("charge.succeeded", charge)).encode()
    t = int(time.time())
    header = f"t={t},v1={signing.compute('whsec_gone', t, body)},v1={signing.compute(CURRENT, t, body)}"
    response = client.post("/payment/webhook", data=body, headers={signing.HEADER: header})
    assert response.status_code == 200


def test_unsigned_or_malformed_deliveries_are_400_never_500(client):
    body = b'{"id": "evt_1"'
    cases = [
        client.post("/payment/webhook", data=b"{}"),
        client.post("/payment/webhook", data=b"{}", headers={signing.HEADER: "t=abc,v1="}),
        client.post("/payment/webhook", data=body, headers={signing.HEADER: signing.sign(body, [CURRENT])}),
        client.post("/payment/webhook", data=b"[]", headers={signing.HEADER: signing.sign(b"[]", [CURRENT])}),
        client.post(
            "/payment/webhook",
            data=b'{"id": 5, "type": "x", "data": {}}',
            headers={signing.HEADER: signing.sign(b'{"id": 5, "type": "x", "data": {}}', [CURRENT])},
        ),
    ]
    assert [r.status_code for r in cases] == [400] * 5


def test_a_duplicate_event_id_is_ignored(app, client, user, shop):
    _, _, _, charge = _pending(app, user, shop)
    event = event_for("charge.succeeded", charge)
    first, second = post_event(client, event), post_event(client, event)
    assert first.json["status"] == "processed"
    assert second.status_code == 200 and second.json["status"] == "duplicate"
    with app.app_context():
        assert _count(WebhookEvent) == 1
        assert _count(Notification, Notification.kind == "payment_receipt") == 1


def test_events_out_of_order_end_in_the_same_state(app, client, user, shop):
    """A refund event that overtakes the success event: the charge is refunded and its invoice paid, either way."""
    _, invoice_id, tx_id, charge = _pending(app, user, shop)
    now = int(time.time())
    succeeded = event_for("charge.succeeded", charge, created=now - 60)
    refunded = event_for("charge.refunded", {**charge, "status": "refunded"}, created=now)
    assert post_event(client, refunded).json["status"] == "processed"
    late = post_event(client, succeeded)
    assert late.status_code == 200 and late.json["status"] == "ignored"
    with app.app_context():
        assert db.session.get(Transaction, tx_id).status == "refunded"
        assert db.session.get(Invoice, invoice_id).status == "paid"
        assert _count(Notification, Notification.kind == "payment_receipt") == 1


def test_a_failure_event_after_the_success_changes_nothing(app, client, user, shop):
    _, invoice_id, tx_id, charge = _pending(app, user, shop)
    post_event(client, event_for("charge.succeeded", charge))
    stale = post_event(client, event_for("charge.failed", {**charge, "status": "failed"}))
    assert stale.json["status"] == "ignored"
    with app.app_context():
        assert db.session.get(Transaction, tx_id).status == "succeeded"
        assert db.session.get(Invoice, invoice_id).status == "paid"


def test_an_event_that_arrives_before_its_transaction_is_kept_and_applied_later(app, client, user, shop, gateway):
    with app.app_context():  # the gateway took the charge; our transaction row is not written yet
        method = save_card(user)
        early = gateway.charge(amount=5390, currency="USD", token=method.token, idempotency_key="renewal:early:0")
        charge, method_id = gateway.record(early.reference), method.id
    response = post_event(client, event_for("charge.succeeded", charge))
    assert response.status_code == 200 and response.json["status"] == "pending"
    with app.app_context():
        _, invoice, tx, _ = pending_renewal(
            user, shop["crm_team"], key="renewal:early:0", method=db.session.get(PaymentMethod, method_id)
        )
        report = Report()
        reconcile.run(utcnow(), report)
        assert report["webhook events applied late"] == 1
        assert db.session.get(Transaction, tx.id).status == "succeeded"
        assert db.session.get(Invoice, invoice.id).status == "paid"
        assert db.session.scalar(sa.select(WebhookEvent.status)) == "processed"
        assert len(gateway.charges()) == 1


def test_the_sandbox_confirms_a_checkout_by_posting_a_signed_event_over_http(
    app, live_server, signed_in, user, shop, run_jobs
):
    app.config["PAYMENT_SANDBOX_WEBHOOKS"] = True
    add_to_cart(signed_in, shop["crm_team"])
    assert pay(signed_in).status_code == 303
    run_jobs()
    with app.app_context():
        event = db.session.scalar(sa.select(WebhookEvent))
        assert event is not None and event.type == "charge.succeeded" and event.status == "processed"
        tx = db.session.scalar(sa.select(Transaction))
        assert event.gateway_reference == tx.gateway_reference and tx.status == "succeeded"
        assert event.received_at - tx.created_at < timedelta(minutes=1)


def test_odd_values_in_a_signed_event_are_stored_safely_never_a_500(app, client, user, shop):
    _, _, tx_id, charge = _pending(app, user, shop)
    odd = {**charge, "status": "failed", "failure_code": "x" * 500, "failure_message": ["not", "text"]}
    event = {**event_for("charge.failed", odd), "created": 10**20, "type": "charge.failed"}
    response = post_event(client, event)
    assert response.status_code == 200 and response.json["status"] == "processed"
    with app.app_context():
        tx = db.session.get(Transaction, tx_id)
        assert tx.status == "failed" and len(tx.failure_code) == 40
        assert db.session.scalar(sa.select(WebhookEvent.event_created_at)) is None


def test_a_declined_checkout_whose_payment_went_through_after_all_is_fulfilled(app, signed_in, user, shop, gateway):
    """A success after the decline (a Stripe PaymentIntent confirmed again): the money moved, so the order is kept."""
    add_to_cart(signed_in, shop["crm_team"])
    assert pay(signed_in, card(CARD_DECLINED)).status_code == 402
    with app.app_context():
        tx = db.session.scalar(sa.select(Transaction))
        charge = {**gateway.record(tx.gateway_reference), "status": "succeeded"}
    response = post_event(signed_in, event_for("charge.succeeded", charge))
    assert response.status_code == 200 and response.json["status"] == "processed"
    with app.app_context():
        tx = db.session.scalar(sa.select(Transaction))
        assert (tx.status, tx.failure_code) == ("succeeded", None)
        assert [i.status for i in db.session.scalars(sa.select(Invoice))] == ["paid"]
        assert db.session.scalar(sa.select(Subscription.status)) == "active"
        assert db.session.scalar(sa.select(CheckoutAttempt.status)) == "succeeded"
    late_failure = post_event(signed_in, event_for("charge.failed", {**charge, "status": "failed"}))
    assert late_failure.json["status"] == "ignored"
