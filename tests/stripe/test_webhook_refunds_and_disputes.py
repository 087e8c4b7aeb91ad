"""Refunds and disputes by Stripe's webhook: events localstripe never sends, so they are Stripe's documented
payloads (tests/stripe/fixtures) naming the real objects made at localstripe, signed as Stripe signs."""

from __future__ import annotations

import secrets
import subprocess
import time

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.billing import Invoice, Transaction
from app.models.notification import Notification
from tests.stripe.events import count, fixture, paid_renewal, post
from tests.support.users import make_user, sign_in


def test_a_pending_refund_is_settled_by_charge_refunded(stripe_app, localstripe, client, client_sdk, user, shop):
    """localstripe sends no charge.refunded, so the event is Stripe's documented one (tests/stripe/fixtures,
    from stripe/openapi's fixtures) naming the real charge and refund made at localstripe, signed as Stripe signs."""
    row, intent_id = paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
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
    event = fixture("charge.refunded")
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
    row, intent_id = paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    run_jobs()  # the customer's receipt
    smtp_sink.messages.clear()
    event = fixture("charge.dispute.created")
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
    row, intent_id = paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    other, _ = paid_renewal(stripe_app, localstripe, client_sdk, user, shop["analytics_yearly"])
    event = fixture("charge.dispute.created")
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
    event = fixture("charge.dispute.created")
    event["data"]["object"].update(payment_intent=intent_id, **dispute)
    return {**event, "id": f"evt_{secrets.token_hex(12)}", "type": event_type, "created": int(time.time())}


def test_a_won_dispute_makes_the_invoice_paid_again_and_a_lost_one_leaves_it_disputed(
    stripe_app, localstripe, client, client_sdk, user, shop
):
    """Stripe's documented dispute (localstripe has none), closed as Stripe closes it: status won or lost."""
    won, won_intent = paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    lost, lost_intent = paid_renewal(stripe_app, localstripe, client_sdk, user, shop["analytics_yearly"])
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
    row, intent_id = paid_renewal(stripe_app, localstripe, client_sdk, user, shop["crm_team"])
    post(client, _dispute_event("charge.dispute.closed", intent_id, id="dp_late", status="won"))
    late = post(client, _dispute_event("charge.dispute.created", intent_id, id="dp_late"))
    assert late.status_code == 200 and late.json["status"] == "ignored"
    with stripe_app.app_context():
        assert db.session.get(Invoice, row["invoice"]).status == "paid"
        assert count(Notification, Notification.kind == "invoice_disputed") == 0
